import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineExtension, defineHandler, defineScheduleHandler, type CallerIdentity } from './extension.js';
import { createTestContext, apiGatewayEvent, type TestContext } from '../testing/index.js';
import { scheduledEvent, SCHEDULE_EVENT_SOURCE } from '../contract/schedules.js';

const runs: Array<{ payload: unknown; identity: CallerIdentity; config: unknown; token: string; tenant: string }> = [];

const manifest = defineExtension({
  name: 'sync',
  version: '1.0.0',
  description: 'Sync on a schedule',
  routes: [{ method: 'POST', path: '/echo', handler: 'echo', auth: 'public' }],
  secrets: [{ key: 'api_token', description: 'token' }],
  schedules: [
    { name: 'every-quarter', expression: 'rate(15 minutes)', handler: 'tick', payload: { full: false } },
    { name: 'nightly', expression: 'cron(0 2 * * ? *)', handler: 'tick', enabled: false },
    { name: 'broken', expression: 'rate(1 hour)', handler: 'tick#broken' },
  ],
  config: z.object({ region: z.string().default('eu') }).strict(),
});

const handlers = {
  tick: {
    handler: defineScheduleHandler(async (run, ctx) => {
      runs.push({ payload: run.payload, identity: ctx.identity, config: ctx.config, token: await ctx.secrets.get('api_token'), tenant: ctx.tenant.id });
      await ctx.db.put({ pk: 'run', sk: run.schedule, at: 1 });
      return { synced: 3 };
    }),
    broken: defineScheduleHandler(async (_run, ctx) => {
      throw new Error(`upstream refused token ${await ctx.secrets.get('api_token')}`);
    }),
  },
  echo: { handler: defineHandler(async (request) => ({ got: request.body })) },
};

let t: TestContext | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  runs.length = 0;
});

const open = (config: unknown = {}) => createTestContext({ extension: 'sync', manifest, handlers, secrets: { api_token: 'canary-token-77x' }, config });

describe('scheduled runs', () => {
  it('runs the declared handler with the route context, the schedule identity and the manifest payload, logging start and finish', async () => {
    t = await open({ region: 'us' });
    const result = await t.runSchedule('every-quarter');
    expect(result).toMatchObject({ status: 'succeeded', extension: 'sync', schedule: 'every-quarter', result: { synced: 3 } });
    expect(runs).toEqual([{ payload: { full: false }, identity: { kind: 'schedule', subject: 'sync.every-quarter', scopes: [], claims: {} }, config: { region: 'us' }, token: 'canary-token-77x', tenant: 'acme' }]);
    expect(await t.table.items()).toEqual([{ pk: 'sync#run', sk: 'every-quarter', at: 1 }]);
    const lines = t.logEntries().filter((l) => l.extension === 'sync').map((l) => l.message);
    expect(lines).toEqual(['schedule started', 'schedule finished']);
    expect(t.logEntries().find((l) => l.message === 'schedule finished')).toMatchObject({ tenant: 'acme', requestId: 'test-schedule-every-quarter', fields: { schedule: 'every-quarter' } });
  });

  it('passes a payload given for the run instead of the manifest one', async () => {
    t = await open();
    await t.runSchedule('every-quarter', { payload: { full: true } });
    expect(runs[0]?.payload).toEqual({ full: true });
  });

  it('refuses a schedule the manifest does not declare, one it turns off, and one the tenant turns off, running nothing', async () => {
    t = await open();
    expect(await t.runSchedule('hourly')).toMatchObject({ status: 'refused', reason: 'unknown-schedule' });
    expect(await t.runSchedule('nightly')).toMatchObject({ status: 'refused', reason: 'schedule-disabled' });
    await t.close();
    // `_schedules` is the platform's: the extension's strict config schema never sees it.
    t = await open({ _schedules: { 'every-quarter': false, nightly: true } });
    expect(await t.runSchedule('every-quarter')).toMatchObject({ status: 'refused', reason: 'schedule-disabled' });
    expect(await t.runSchedule('nightly')).toMatchObject({ status: 'succeeded' });
    expect(runs).toHaveLength(1);
    expect(t.logEntries().some((l) => l.message === 'scheduled event refused' && l.fields?.reason === 'schedule-disabled')).toBe(true);
  });

  it('refuses an event naming an extension the tenant has not enabled, and any run while the tenant is suspended', async () => {
    t = await open();
    expect(await t.invokeEvent(scheduledEvent('cetec', 'every-quarter'))).toMatchObject({ status: 'refused', reason: 'unknown-extension' });
    t.setSuspended(true);
    expect(await t.runSchedule('every-quarter')).toMatchObject({ status: 'refused', reason: 'tenant-suspended' });
    expect(runs).toHaveLength(0);
  });

  it('answers a failed run with its error masked and logs the failure', async () => {
    t = await open();
    const result = await t.runSchedule('broken');
    expect(result).toMatchObject({ status: 'failed', schedule: 'broken' });
    expect(JSON.stringify(result)).not.toContain('canary-token-77x');
    expect(t.logs.join('\n')).not.toContain('canary-token-77x');
    expect(t.logEntries().find((l) => l.message === 'schedule failed')).toMatchObject({ level: 'error', extension: 'sync', fields: { schedule: 'broken' } });
  });

  it('never runs a schedule handler for an HTTP event, whatever its body and headers carry', async () => {
    t = await open();
    const marker = scheduledEvent('sync', 'every-quarter', { full: true });
    const viaBody = await t.invoke('POST', '/sync/echo', { caller: 'anonymous', body: marker, headers: { source: SCHEDULE_EVENT_SOURCE, extension: 'sync', schedule: 'every-quarter' } });
    expect(viaBody.status).toBe(200);
    expect(viaBody.body).toEqual({ got: marker });
    // The marker's members next to an HTTP event's own (no API Gateway event has them) leave it an HTTP event.
    const mixed = await t.invokeEvent({ ...apiGatewayEvent('POST', '/sync/echo', { body: '{"a":1}' }), ...marker });
    expect(mixed).toMatchObject({ statusCode: 200, body: JSON.stringify({ got: { a: 1 } }) });
    expect(runs).toHaveLength(0);
  });
});
