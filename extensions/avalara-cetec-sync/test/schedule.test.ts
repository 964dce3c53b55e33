import { afterEach, describe, expect, it } from 'vitest';
import { validateManifest } from '../../../src/extensions/manifest-schema.js';
import manifest from '../extension.js';
import { secretsAbsent, startSyncWorld, taxItems, type SyncWorld } from './helpers.js';

let world: SyncWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('the avalara-cetec-sync schedule', () => {
  it('declares the sync every 15 minutes, on by default', () => {
    const checked = validateManifest(manifest, { folderName: 'avalara-cetec-sync' });
    expect(checked.ok).toBe(true);
    expect(manifest.schedules).toEqual([expect.objectContaining({ name: 'sync', expression: 'rate(15 minutes)', handler: 'scheduled-sync' })]);
    expect(manifest.schedules?.[0]?.enabled).toBeUndefined();
  });

  it('runs the whole sync by itself', async () => {
    world = await startSyncWorld({ invoices: 1_200 });
    const { t, avalara } = world;
    const run = await t.runSchedule('sync');
    expect(run).toMatchObject({ status: 'succeeded', result: { outcome: 'complete', status: 'complete', processed: 1_200, taxed: 1_200 } });
    expect(await taxItems(t)).toHaveLength(1_200);
    expect(avalara.transactions).toBe(1_200);
    const status = await t.invoke('GET', '/avalara-cetec-sync/sync/status');
    expect(status.body).toMatchObject({ status: 'complete', processed: 1_200 });
    expect(t.logEntries().filter((l) => l.extension === 'avalara-cetec-sync' && /^schedule /.test(l.message)).map((l) => l.message)).toEqual(['schedule started', 'schedule finished']);
  });

  it('finishes a long walk over successive runs, each continuing from the checkpoint', async () => {
    world = await startSyncWorld({ invoices: 1_000 });
    const { t, avalara } = world;
    const first = await t.runSchedule('sync', { payload: { maxRecords: 400 } });
    expect(first).toMatchObject({ status: 'succeeded', result: { outcome: 'partial', offset: 400 } });
    const second = await t.runSchedule('sync', { payload: { maxRecords: 400 } });
    expect(second).toMatchObject({ status: 'succeeded', result: { outcome: 'partial', offset: 800, thisCall: { resumedFrom: 400 } } });
    const third = await t.runSchedule('sync');
    expect(third).toMatchObject({ status: 'succeeded', result: { outcome: 'complete', processed: 1_000 } });
    expect([...avalara.codes.values()].every((count) => count === 1)).toBe(true);
    expect(await taxItems(t)).toHaveLength(1_000);
  });

  it('a run that fails on Cetec is answered failed without a secret, and the next run resumes it', async () => {
    world = await startSyncWorld({ invoices: 3_000 }, { cetecMaxRetries: 1 });
    const { t, cetec } = world;
    cetec.crashAfterPages(2);
    const failed = await t.runSchedule('sync');
    expect(failed).toMatchObject({ status: 'failed' });
    expect(t.logEntries().some((l) => l.message === 'schedule failed' && l.fields?.schedule === 'sync')).toBe(true);
    await cetec.restart();
    const resumed = await t.runSchedule('sync');
    expect(resumed).toMatchObject({ status: 'succeeded', result: { outcome: 'complete', processed: 3_000, resumes: 1, thisCall: { resumedFrom: 1_000 } } });
    expect(secretsAbsent(t, JSON.stringify(failed), JSON.stringify(resumed))).toBe(true);
  });

  it('a tenant may turn the schedule off in its settings', async () => {
    world = await startSyncWorld({ invoices: 10 }, { _schedules: { sync: false } });
    expect(await world.t.runSchedule('sync')).toMatchObject({ status: 'refused', reason: 'schedule-disabled' });
    expect(await taxItems(world.t)).toHaveLength(0);
  });
});
