import { describe, expect, it } from 'vitest';
import { TARGET_NAMES } from './names.js';
import { openTarget } from './index.js';
import type { TargetHost } from './target.js';

const host: TargetHost = {
  project: () => {
    throw new Error('saying what kind of evidence a bundle is reads no project');
  },
  globals: { stage: 'prod', region: 'eu-west-1', profile: undefined, endpointUrl: undefined },
  out: undefined as never,
  confirm: async () => false,
};

describe('what kind of evidence each target says its audit bundles are', () => {
  it('local: an offline evaluation with no account; aws: read from the account, its isolation matrix still an offline evaluation', async () => {
    const kinds = Object.fromEntries(await Promise.all(TARGET_NAMES.map(async (name) => [name, (await openTarget(name, host)).auditEvidence] as const)));
    expect(kinds.local).toMatchObject({ kind: 'offline', records: expect.stringContaining('.sovereign/'), isolation: expect.stringContaining('placeholder account') });
    expect(kinds.local!.isolation).toMatch(/^an offline evaluation/);
    expect(kinds.aws).toMatchObject({ kind: 'cloud-account', records: expect.stringContaining('stage prod'), isolation: expect.stringContaining('sovereign verify isolation') });
    expect(kinds.aws!.isolation).toMatch(/^an offline evaluation/);
  });
});
