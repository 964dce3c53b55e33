import { describe, expect, it } from 'vitest';
import {
  changedSince, generationMarkerFromItem, generationMarkerToItem, initialGenerationMarker, MAX_GENERATION_CHANGES,
  nextGeneration, parseGenerationMarker, serializeGenerationMarker,
} from './generation.js';

const now = new Date('2026-01-01T00:00:00Z');

describe('generation marker', () => {
  it('bumps the generation and records the changed references', () => {
    const one = nextGeneration(undefined, { references: ['ssm:/dev/tenants/acme/a', 'ssm:/dev/tenants/acme/a'], now });
    expect(one).toEqual({ generation: 1, suspended: false, changes: [{ generation: 1, references: ['ssm:/dev/tenants/acme/a'] }], updatedAt: now.toISOString() });
    const two = nextGeneration(one, { suspended: true, now });
    expect(two.generation).toBe(2);
    expect(two.suspended).toBe(true);
    expect(nextGeneration(two, { references: ['x'] }).suspended).toBe(true);
  });

  it('keeps only the last changes and tells a lagging reader to invalidate everything', () => {
    let marker = initialGenerationMarker(now);
    for (let i = 0; i < MAX_GENERATION_CHANGES + 10; i++) marker = nextGeneration(marker, { references: [`ssm:/r${i}`] });
    expect(marker.changes).toHaveLength(MAX_GENERATION_CHANGES);
    expect(changedSince(marker, marker.generation)).toEqual([]);
    expect(changedSince(marker, marker.generation - 2)).toEqual([`ssm:/r${MAX_GENERATION_CHANGES + 8}`, `ssm:/r${MAX_GENERATION_CHANGES + 9}`]);
    expect(changedSince(marker, 3)).toBe('all');
    expect(changedSince(marker, marker.generation + 1)).toBe('all');
  });

  it('round-trips through the file and item forms and rejects malformed markers', () => {
    const marker = nextGeneration(undefined, { references: ['secretsmanager:dev/tenants/acme/x:key'], now });
    expect(parseGenerationMarker(JSON.parse(serializeGenerationMarker(marker)))).toEqual(marker);
    expect(generationMarkerToItem(marker)).toMatchObject({ pk: '_sovereign', sk: 'generation', generation: 1 });
    expect(generationMarkerFromItem(generationMarkerToItem(marker))).toEqual(marker);
    expect(() => parseGenerationMarker({ generation: -1 })).toThrow(/non-negative/);
    expect(() => parseGenerationMarker({ generation: 1, suspended: 'yes' })).toThrow(/suspended/);
    expect(() => parseGenerationMarker({ generation: 1, changes: [{ generation: 1 }] })).toThrow(/changes\[0\]/);
  });

  // The file form is what the CLI writes and a runtime of another version reads: pinned.
  it('serialises to two-space JSON with a final newline, in a fixed member order', () => {
    const marker = nextGeneration(initialGenerationMarker(now), { references: ['ssm:/dev/b', 'ssm:/dev/a'], now });
    expect(serializeGenerationMarker(marker)).toBe(
      '{\n  "generation": 1,\n  "suspended": false,\n  "changes": [\n    {\n      "generation": 1,\n      "references": [\n'
      + '        "ssm:/dev/a",\n        "ssm:/dev/b"\n      ]\n    }\n  ],\n  "updatedAt": "2026-01-01T00:00:00.000Z"\n}\n',
    );
  });
});
