/**
 * The billing webhook mounted on a real `sovereign dev` gateway (in this process, the tenant in its
 * own process): a signed payment failure suspends the tenant — seen as 403 through the gateway — and
 * a payment resumes it; a bad signature is refused at the gateway.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billingGatewayRoute, BILLING_WEBHOOK_PATH } from '../src/targets/local/dev/billing-route.js';
import { signatureHeader } from '../src/billing/signature.js';
import { startDevServer, type DevServer } from '../src/targets/local/dev/server.js';
import { loadProject } from '../src/project.js';
import { makeProject, runCli } from './helpers/cli.js';
import { waitFor } from './helpers/wait.js';

const SECRET = 'whsec_dev_gateway_test_1b2c3d';
// Public routes: who may call is test/dev-auth.e2e.test.ts's subject, not this file's.
const MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({ name: 'probe', version: '1.0.0', description: 'who serves', routes: [{ method: 'GET', path: '/whoami', handler: 'whoami', auth: 'public' }] });
`;
const WHOAMI = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (_request, ctx) => ({ tenant: ctx.tenant.id }));
`;


let server: DevServer | undefined;
let dir: string;
const env = { SOVEREIGN_ACTOR: 'test@host', CI: '1' };

beforeAll(async () => {
  dir = await makeProject();
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify({ ...config, defaults: { tier: 'premium', extensions: ['probe'] }, billing: { suspendAfterFailures: 1 } }, null, 2));
  mkdirSync(join(dir, 'extensions', 'probe', 'handlers'), { recursive: true });
  writeFileSync(join(dir, 'extensions', 'probe', 'extension.ts'), MANIFEST);
  writeFileSync(join(dir, 'extensions', 'probe', 'handlers', 'whoami.ts'), WHOAMI);
  // Deployed with it, so active: billing suspends active tenants only.
  expect((await runCli(['tenant', 'create', 'acme'], { cwd: dir, env })).exitCode).toBe(0);
  const mapped = await runCli(['tenant', 'billing', 'acme', '--customer', 'cus_acme'], { cwd: dir, env });
  expect(mapped.exitCode, mapped.stderr).toBe(0);
  const project = await loadProject(dir);
  server = await startDevServer({ project, port: 0, throttle: false, watch: true, routes: [billingGatewayRoute(project, { secrets: [SECRET] })] });
  await waitFor('acme to serve', async () => ((await fetch(`http://127.0.0.1:${server!.port}/t/acme/probe/whoami`)).status === 200 ? true : undefined), 60_000);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

let sequence = 0;
async function deliver(type: string, secret = SECRET): Promise<{ status: number; body: Record<string, unknown> }> {
  sequence += 1;
  const text = JSON.stringify({ id: `evt_dev_${sequence}`, type, created: Math.floor(Date.now() / 1000) + sequence, data: { object: { id: 'in_1', customer: 'cus_acme' } } });
  const answer = await fetch(`http://127.0.0.1:${server!.port}${BILLING_WEBHOOK_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signatureHeader([secret], Math.floor(Date.now() / 1000), text) },
    body: text,
  });
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
}

describe('billing webhook on the dev gateway', () => {
  it('payment failure suspends (403 through the gateway), payment resumes, bad signatures are refused', async () => {
    const whoami = () => fetch(`http://127.0.0.1:${server!.port}/t/acme/probe/whoami`).then((r) => r.status);
    expect(await deliver('invoice.payment_failed', 'whsec_wrong')).toMatchObject({ status: 400, body: { error: 'signature-mismatch' } });
    expect(await whoami()).toBe(200);

    expect(await deliver('invoice.payment_failed')).toMatchObject({ status: 200, body: { action: 'suspend', tenant: 'acme', status: 'suspended' } });
    await waitFor('acme to answer 403', async () => ((await whoami()) === 403 ? true : undefined), 10_000);

    expect(await deliver('invoice.paid')).toMatchObject({ status: 200, body: { action: 'resume', status: 'active' } });
    await waitFor('acme to serve again', async () => ((await whoami()) === 200 ? true : undefined), 10_000);
    const shown = await runCli(['tenant', 'show', 'acme', '--json'], { cwd: dir, env });
    const record = (JSON.parse(shown.stdout) as { tenant: { transitions: Array<{ to: string; reason?: string }> } }).tenant;
    expect(record.transitions.slice(-2).map((t) => t.to)).toEqual(['suspended', 'active']);
    expect(record.transitions.at(-2)!.reason).toMatch(/^billing: 1 failed payment/);
  }, 60_000);
});
