import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGenerationMarker } from '../../contract/generation.js';
import { verifyWebhook } from '../../runtime/webhook.js';
import { bumpGenerationFile, runningDevPort, sendRotationWebhook } from './notify.js';

describe('runningDevPort', () => {
  const dir = mkdtempSync(join(tmpdir(), 'notify-'));
  const file = join(dir, 'dev.json');

  it('answers only for a live dev server that serves the tenant', () => {
    expect(runningDevPort(file, 'acme')).toBeUndefined();
    writeFileSync(file, JSON.stringify({ pid: process.pid, port: 4321, tenants: { acme: {} } }));
    expect(runningDevPort(file, 'acme')).toBe(4321);
    expect(runningDevPort(file, 'globex')).toBeUndefined();
    writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 12345, port: 4321, tenants: { acme: {} } }));
    expect(runningDevPort(file, 'acme')).toBeUndefined();
    writeFileSync(file, '{ torn');
    expect(runningDevPort(file, 'acme')).toBeUndefined();
  });
});

describe('bumpGenerationFile', () => {
  it('starts at 1 and keeps the suspension flag', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'generation-')), 'generation.json');
    const first = bumpGenerationFile(file, ['ssm:/a']);
    expect(first.marker.generation).toBe(1);
    writeFileSync(file, JSON.stringify({ ...first.marker, suspended: true }));
    const second = bumpGenerationFile(file, ['ssm:/b']);
    expect(parseGenerationMarker(JSON.parse(second.text))).toMatchObject({ generation: 2, suspended: true });
  });
});

describe('sendRotationWebhook', () => {
  it('signs the notice and reports a refusal without throwing', async () => {
    const secret = 'whsec_' + Buffer.from('k'.repeat(32)).toString('base64');
    const seen: boolean[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      req.on('end', () => {
        try {
          verifyWebhook({ secret, headers: req.headers as Record<string, string>, body });
          seen.push(true);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"invalidated":2}');
        } catch {
          seen.push(false);
          res.writeHead(401, { 'content-type': 'application/problem+json' }).end('{"type":"https://sovereign.dev/problems/webhook-bad-signature"}');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/t/acme`;
    try {
      const ok = await sendRotationWebhook({ tenant: 'acme', references: ['ssm:/x'], generation: 3, secret, baseUrl });
      expect(ok).toMatchObject({ delivered: true, acknowledged: true, status: 200, invalidated: 2 });
      const bad = await sendRotationWebhook({ tenant: 'acme', references: ['ssm:/x'], generation: 3, secret: 'other', baseUrl });
      expect(bad).toMatchObject({ delivered: true, acknowledged: false, status: 401, reason: 'HTTP 401 webhook-bad-signature' });
      expect(seen).toEqual([true, false]);
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    const down = await sendRotationWebhook({ tenant: 'acme', references: [], generation: 1, secret, baseUrl, timeoutMs: 500 });
    expect(down).toMatchObject({ delivered: false, acknowledged: false, reason: 'ECONNREFUSED' });
  });
});
