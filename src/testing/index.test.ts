import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineExtension, defineHandler } from '../runtime/extension.js';
import { createTestContext, type TestContext } from './index.js';

const manifest = defineExtension({
  name: 'notes',
  version: '1.0.0',
  description: 'Notes kept per tenant',
  routes: [
    { method: 'POST', path: '/notes', handler: 'notes#create', request: { body: z.object({ id: z.string(), text: z.string().min(1) }) } },
    { method: 'GET', path: '/notes/{id}', handler: 'notes#read' },
  ],
  secrets: [{ key: 'api_token', description: 'token' }],
  config: z.object({ greeting: z.string().default('hello') }),
});

const notes = {
  create: defineHandler<{ id: string; text: string }>(async (request, ctx) => {
    const token = await ctx.secrets.get('api_token');
    ctx.log.info('creating note', { id: request.body.id, token });
    await ctx.db.put({ pk: 'note', sk: request.body.id, text: request.body.text });
    return { status: 201, body: { id: request.body.id } };
  }),
  read: defineHandler<unknown, unknown>(async (request, ctx) => {
    const item = await ctx.db.get('note', request.params.id ?? '');
    if (!item) return { status: 404, body: { error: 'no such note' } };
    return { ...item, greeting: (ctx.config as { greeting: string }).greeting };
  }),
};

let t: TestContext | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('createTestContext', () => {
  it('gives a context over a real table with prefixed keys, memory secrets and captured, masked logs', async () => {
    t = await createTestContext({ extension: 'notes', manifest, secrets: { api_token: 'canary-token-8f3a' } });
    await t.ctx.db.put({ pk: 'p', sk: 's', value: 1 });
    expect(await t.ctx.db.get('p', 's')).toEqual({ pk: 'p', sk: 's', value: 1 });
    expect(await t.table.items()).toEqual([{ pk: 'notes#p', sk: 's', value: 1 }]);
    expect(await t.ctx.secrets.get('api_token')).toBe('canary-token-8f3a');
    await expect(t.ctx.secrets.get('other')).rejects.toThrow(/does not declare the secret key "other"/);
    t.ctx.log.info('token is canary-token-8f3a', { nested: { deep: ['x canary-token-8f3a y'] } });
    expect(t.logs.join('\n')).not.toContain('canary-token-8f3a');
    expect(t.logEntries().at(-1)).toMatchObject({ level: 'info', tenant: 'acme', extension: 'notes', message: 'token is ***', fields: { nested: { deep: ['x *** y'] } } });
    expect(t.ctx.config).toEqual({ greeting: 'hello' });
  });

  it('runs requests through the real router', async () => {
    t = await createTestContext({ extension: 'notes', manifest, handlers: { notes }, secrets: { api_token: 'canary-token-8f3a' }, config: { greeting: 'hi' } });
    const created = await t.invoke('POST', '/notes/notes', { body: { id: 'n1', text: 'first' } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: 'n1' });
    const read = await t.invoke('GET', '/notes/notes/n1');
    expect(read.body).toEqual({ pk: 'note', sk: 'n1', text: 'first', greeting: 'hi' });
    const invalid = await t.invoke('POST', '/notes/notes', { body: { id: 'n2', text: '' } });
    expect(invalid.status).toBe(400);
    expect(invalid.headers['content-type']).toBe('application/problem+json');
    expect(t.logs.join('\n')).not.toContain('canary-token-8f3a');
    t.setSuspended(true);
    expect((await t.invoke('GET', '/notes/notes/n1')).status).toBe(403);
  });
});
