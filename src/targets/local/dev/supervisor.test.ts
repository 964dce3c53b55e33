import { describe, expect, it } from 'vitest';
import { environmentNice, heapArgs } from './supervisor.js';

describe('execution environments on one machine', () => {
  it('give environment k about 1/(k+1) of the first one\'s CPU weight, within nice\'s range', () => {
    expect([0, 1, 2, 3, 4, 9, 99, 10_000].map(environmentNice)).toEqual([0, 3, 5, 6, 7, 10, 19, 19]);
    // Each nice step is 1.25× less weight (the kernel's table): slot k's weight ÷ the first's.
    for (const slot of [1, 2, 3, 4, 9]) expect(1.25 ** -environmentNice(slot) * (slot + 1)).toBeGreaterThan(0.8);
    for (const slot of [1, 2, 3, 4, 9]) expect(1.25 ** -environmentNice(slot) * (slot + 1)).toBeLessThan(1.25);
  });

  it('cap the heap from MemorySize as Lambda\'s Node bootstrap does', () => {
    expect(heapArgs(1024)).toEqual(['--max-semi-space-size=51', '--max-old-space-size=922']);
  });
});
