import { describe, expect, it } from 'vitest';
import { FairQueue } from './fair.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('FairQueue', () => {
  it('runs one task of each waiting tenant per round, so a single request is not stuck behind a flood', async () => {
    const queue = new FairQueue(1_000);
    const ran: string[] = [];
    for (let i = 0; i < 50; i++) queue.run('noisy', () => ran.push(`noisy${i}`));
    queue.run('quiet', () => ran.push('quiet'));
    expect(ran).toEqual([]); // never on the caller's turn
    await turn();
    expect(ran.slice(0, 3)).toEqual(['noisy0', 'quiet', 'noisy1']);
    expect(ran).toHaveLength(51);
  });

  it('gives the event loop back when its time slice is used up, and carries on at the next turn', async () => {
    let clock = 0;
    const queue = new FairQueue(2, () => clock);
    const ran: number[] = [];
    for (let i = 0; i < 10; i++) {
      queue.run('a', () => {
        ran.push(i);
        clock += 1;
      });
    }
    await turn();
    expect(ran).toEqual([0, 1]);
    expect(queue.waiting).toBe(8);
    await turn();
    expect(ran).toEqual([0, 1, 2, 3]);
    while (queue.waiting > 0) await turn();
    expect(ran).toHaveLength(10);
  });

  it('keeps going when a task throws', async () => {
    const queue = new FairQueue();
    const ran: string[] = [];
    queue.run('a', () => {
      throw new Error('boom');
    });
    queue.run('a', () => ran.push('after'));
    await turn();
    expect(ran).toEqual(['after']);
  });

  it('serves tasks queued while it drains in later rounds', async () => {
    const queue = new FairQueue(1_000);
    const ran: string[] = [];
    queue.run('a', () => {
      ran.push('a1');
      queue.run('a', () => ran.push('a2'));
    });
    queue.run('b', () => ran.push('b1'));
    await turn();
    expect(ran).toEqual(['a1', 'b1', 'a2']);
  });
});
