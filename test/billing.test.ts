/**
 * Billing webhooks: the signature cases, then deliveries over a real loopback HTTP server to
 * `handleBillingWebhook` acting on a real local state (registry, audit log, ledger, marker).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBillingConfig } from '../src/billing/config.js';
import { setBillingCustomer } from '../src/billing/customer.js';
import { BillingSignatureError, computeSignature, secretsFromEnv, signatureHeader, verifySignature } from '../src/billing/signature.js';
import { handleBillingWebhook, type BillingWebhookDeps } from '../src/billing/webhook.js';
import { resumeTenant, suspendTenant } from '../src/lifecycle/apply.js';
import { readGenerationMarker } from '../src/targets/local/notify.js';
import { loadProject, type Project } from '../src/project.js';
import { LocalState } from '../src/targets/local/state.js';
import { createDeployedTenant } from './helpers/tenants.js';

const SECRET = 'whsec_test_4f9a1c0b7e2d';
const OLD_SECRET = 'whsec_old_9b8a7c6d5e4f';
const NOW = 1_790_000_000_000;
const body = '{"id":"evt_1","type":"invoice.paid","created":1790000000,"data":{"object":{"customer":"cus_1"}}}';

function failure(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(BillingSignatureError);
    expect(String((error as Error).message)).not.toContain(SECRET);
    return (error as BillingSignatureError).reason;
  }
}

describe('Stripe-Signature verification', () => {
  const t = NOW / 1000;
  it('accepts a good signature and returns its timestamp', () => {
    expect(verifySignature(signatureHeader([SECRET], t, body), body, [SECRET], { now: NOW })).toBe(t);
  });
  it('refuses a signature made with another secret', () => {
    expect(failure(() => verifySignature(signatureHeader(['whsec_wrong'], t, body), body, [SECRET], { now: NOW }))).toBe('mismatch');
  });
  it('refuses a changed body', () => {
    expect(failure(() => verifySignature(signatureHeader([SECRET], t, body), body.replace('cus_1', 'cus_2'), [SECRET], { now: NOW }))).toBe('mismatch');
  });
  it('refuses a stale signature beyond 300 s and accepts one at the edge', () => {
    expect(failure(() => verifySignature(signatureHeader([SECRET], t - 301, body), body, [SECRET], { now: NOW }))).toBe('stale');
    expect(verifySignature(signatureHeader([SECRET], t - 300, body), body, [SECRET], { now: NOW })).toBe(t - 300);
  });
  it('refuses a signature from the future beyond 300 s', () => {
    expect(failure(() => verifySignature(signatureHeader([SECRET], t + 301, body), body, [SECRET], { now: NOW }))).toBe('future');
    expect(verifySignature(signatureHeader([SECRET], t + 299, body), body, [SECRET], { now: NOW })).toBe(t + 299);
  });
  it('accepts any of several v1 signatures (sender rotating its secret)', () => {
    const header = `t=${t},v1=${computeSignature('whsec_other', t, body)},v0=${'0'.repeat(64)},v1=${computeSignature(SECRET, t, body)}`;
    expect(verifySignature(header, body, [SECRET], { now: NOW })).toBe(t);
  });
  it('accepts several configured secrets (receiver rotating) but not a signature over another timestamp', () => {
    expect(verifySignature(signatureHeader([OLD_SECRET], t, body), body, [SECRET, OLD_SECRET], { now: NOW })).toBe(t);
    const moved = `t=${t + 1},v1=${computeSignature(SECRET, t, body)}`;
    expect(failure(() => verifySignature(moved, body, [SECRET], { now: NOW }))).toBe('mismatch');
  });
  it('refuses missing and malformed headers and an empty secret list', () => {
    expect(failure(() => verifySignature(undefined, body, [SECRET], { now: NOW }))).toBe('missing');
    expect(failure(() => verifySignature(`v1=${computeSignature(SECRET, t, body)}`, body, [SECRET], { now: NOW }))).toBe('malformed');
    expect(failure(() => verifySignature(`t=${t}`, body, [SECRET], { now: NOW }))).toBe('malformed');
    expect(failure(() => verifySignature(`t=${t},v1=zz`, body, [SECRET], { now: NOW }))).toBe('malformed');
    expect(failure(() => verifySignature(signatureHeader([SECRET], t, body), body, [], { now: NOW }))).toBe('no-secret');
  });
});

describe('signing secrets from the environment', () => {
  it('reads one or several secrets (rotation) and answers 503 without any, naming the variable but no value', async () => {
    expect(secretsFromEnv({ SOVEREIGN_BILLING_WEBHOOK_SECRET: `${SECRET}, ${OLD_SECRET}` })).toEqual([SECRET, OLD_SECRET]);
    expect(secretsFromEnv({})).toEqual([]);
    const dir = join(mkdtempSync(join(tmpdir(), 'sovereign-billing-')), 'proj');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'sovereign.config.json'), JSON.stringify({ project: 'proj' }));
    const project = await loadProject(dir);
    const answer = await handleBillingWebhook({ headers: { 'Stripe-Signature': signatureHeader([SECRET], NOW / 1000, body) }, rawBody: body }, { state: new LocalState(project), project, secrets: [], now: () => NOW });
    expect(answer).toMatchObject({ status: 503, body: { error: 'not-configured', message: expect.stringContaining('SOVEREIGN_BILLING_WEBHOOK_SECRET') } });
    expect(existsSync(project.paths.auditLog)).toBe(false);
  });
});

describe('billing config', () => {
  it('has defaults and refuses bad keys with exit 2', () => {
    expect(parseBillingConfig(undefined)).toMatchObject({ suspendAfterFailures: 3, offboardGracePeriod: '30d', offboardGraceMs: 30 * 86_400_000, plans: {} });
    expect(() => parseBillingConfig({ suspendAfterFailures: 0 })).toThrow(/billing\.suspendAfterFailures/);
    expect(() => parseBillingConfig({ plans: { price_x: 'gold' } })).toThrow(/billing\.plans\.price_x/);
    expect(() => parseBillingConfig({ suspendAfterFailure: 2 })).toThrow(/unrecognized|unknown/i);
  });
});

// --- deliveries over HTTP ---------------------------------------------------------------------

interface Harness {
  project: Project;
  state: LocalState;
  url: string;
  server: Server;
  clock: { now: number };
  redeployed: string[];
  offboarded: string[];
}

let harness: Harness | undefined;
afterEach(async () => {
  if (harness) await new Promise<void>((resolve) => harness!.server.close(() => resolve()));
  harness = undefined;
});

async function start(billing: Record<string, unknown>, options: { realDeploy?: boolean } = {}): Promise<Harness> {
  const dir = join(mkdtempSync(join(tmpdir(), 'sovereign-billing-')), 'proj');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sovereign.config.json'), JSON.stringify({ project: 'proj', billing }));
  const project = await loadProject(dir);
  const state = new LocalState(project);
  await createDeployedTenant(state, 'dev', { id: 'acme', tier: 'basic', extensions: [] });
  await setBillingCustomer(state, 'acme', 'cus_acme');
  const clock = { now: NOW };
  const redeployed: string[] = [];
  const offboarded: string[] = [];
  const deps: BillingWebhookDeps = {
    state,
    project,
    secrets: [SECRET],
    now: () => clock.now,
    ...(options.realDeploy
      ? {}
      : {
          redeploy: async (id: string) => {
            redeployed.push(`${id}:${(await state.getTenant(id))?.tier}`);
          },
        }),
    offboard: async (id) => {
      offboarded.push(id);
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handleBillingWebhook({ headers: req.headers, rawBody: Buffer.concat(chunks) }, deps).then((answer) => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  harness = { project, state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/_sovereign/billing/webhook`, server, clock, redeployed, offboarded };
  return harness;
}

let counter = 0;
function event(type: string, createdOffset: number, object: Record<string, unknown> = {}, id = `evt_${++counter}`): { id: string; text: string } {
  const text = JSON.stringify({ id, object: 'event', type, created: NOW / 1000 + createdOffset, data: { object: { customer: 'cus_acme', ...object } } });
  return { id, text };
}

async function deliver(h: Harness, payload: { text: string }, options: { secrets?: string[]; at?: number } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const t = Math.floor((options.at ?? h.clock.now) / 1000);
  const answer = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signatureHeader(options.secrets ?? [SECRET], t, payload.text) }, body: payload.text });
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
}

const status = async (h: Harness) => (await h.state.getTenant('acme'))?.status;
const auditText = (h: Harness) => (existsSync(h.project.paths.auditLog) ? readFileSync(h.project.paths.auditLog, 'utf8') : '');

describe('billing webhook deliveries', () => {
  it('suspends after the configured number of failures, and a payment resumes', async () => {
    const h = await start({ suspendAfterFailures: 2 });
    expect((await deliver(h, event('invoice.payment_failed', 1, { id: 'in_1' }))).body).toMatchObject({ action: 'record' });
    expect(await status(h)).toBe('active');
    expect((await deliver(h, event('invoice.payment_failed', 2, { id: 'in_1' }))).body).toMatchObject({ action: 'suspend', status: 'suspended' });
    expect(await status(h)).toBe('suspended');
    expect(readGenerationMarker(h.project, 'acme')?.suspended).toBe(true);
    expect((await deliver(h, event('invoice.paid', 3, { id: 'in_1' }))).body).toMatchObject({ action: 'resume', status: 'active' });
    expect(readGenerationMarker(h.project, 'acme')?.suspended).toBe(false);
    const record = await h.state.getTenant('acme');
    expect(record?.billing).toMatchObject({ customerId: 'cus_acme', failedPayments: 0 });
    expect(record?.transitions.slice(-2).map((t) => `${t.from}→${t.to}`)).toEqual(['active→suspended', 'suspended→active']);
    expect(auditText(h)).not.toContain(SECRET);
  });

  it('answers 400 for bad, stale and future signatures and changes nothing', async () => {
    const h = await start({});
    const before = auditText(h);
    const e = event('invoice.payment_failed', 0);
    expect(await deliver(h, e, { secrets: ['whsec_wrong'] })).toMatchObject({ status: 400, body: { error: 'signature-mismatch' } });
    expect(await deliver(h, e, { at: NOW - 301_000 })).toMatchObject({ status: 400, body: { error: 'signature-stale' } });
    expect(await deliver(h, e, { at: NOW + 301_000 })).toMatchObject({ status: 400, body: { error: 'signature-future' } });
    const unsigned = await fetch(h.url, { method: 'POST', body: e.text });
    expect(unsigned.status).toBe(400);
    expect(auditText(h)).toBe(before);
    expect((await h.state.getTenant('acme'))?.billing?.failedPayments).toBeUndefined();
  });

  it('a replayed delivery (same event id) is acknowledged once and applied once', async () => {
    const h = await start({ suspendAfterFailures: 2 });
    const e = event('invoice.payment_failed', 0);
    expect((await deliver(h, e)).body).toMatchObject({ action: 'record' });
    const afterFirst = auditText(h);
    // The same signed request again, and a fresh signature over the same event.
    for (let i = 0; i < 3; i += 1) expect(await deliver(h, e)).toMatchObject({ status: 200, body: { duplicate: true } });
    expect(auditText(h)).toBe(afterFirst);
    expect((await h.state.getTenant('acme'))?.billing?.failedPayments).toBe(1);
    expect(await status(h)).toBe('active');
  });

  it('an older payment failure arriving after a newer payment does not count', async () => {
    const h = await start({ suspendAfterFailures: 2 });
    const failedEarly = event('invoice.payment_failed', 10, { id: 'in_1' });
    const failedLate = event('invoice.payment_failed', 20, { id: 'in_1' });
    const paid = event('invoice.paid', 30, { id: 'in_1' });
    await deliver(h, failedEarly);
    await deliver(h, paid);
    const late = await deliver(h, failedLate);
    expect(late.body).toMatchObject({ action: 'ignored', reason: expect.stringContaining('older') });
    expect((await h.state.getTenant('acme'))?.billing?.failedPayments).toBe(0);
    // A genuinely newer failure counts from zero: one failure, not two, so no suspension.
    expect((await deliver(h, event('invoice.payment_failed', 40, { id: 'in_2' }))).body).toMatchObject({ action: 'record' });
    expect(await status(h)).toBe('active');
  });

  it('a payment does not resume a tenant an operator suspended, even after an earlier suspension for non-payment', async () => {
    const h = await start({ suspendAfterFailures: 1 });
    const env = { state: h.state, project: h.project, target: 'local' as const };
    expect((await deliver(h, event('invoice.payment_failed', 1))).body).toMatchObject({ action: 'suspend' });
    // The operator lifts the billing suspension by hand, then suspends for another reason.
    await resumeTenant(env, 'acme', { reason: 'payment promised' });
    expect((await h.state.getTenant('acme'))?.billing).not.toHaveProperty('suspendedForPayment');
    await suspendTenant(env, 'acme', { reason: 'abuse' });
    expect((await deliver(h, event('invoice.payment_succeeded', 2))).body).toMatchObject({ action: 'record', reason: expect.stringContaining('stays suspended') });
    expect(await status(h)).toBe('suspended');
  });

  it('refuses bodies over 1 MiB before checking the signature', async () => {
    const h = await start({});
    const big = { text: JSON.stringify({ id: 'evt_big', type: 'invoice.paid', created: NOW / 1000, data: { object: { customer: 'cus_acme', pad: 'x'.repeat(1024 * 1024) } } }) };
    expect(await deliver(h, big)).toMatchObject({ status: 413, body: { error: 'payload-too-large' } });
  });

  it('a plan change moves the tier and redeploys; an older plan change arriving late is ignored', async () => {
    const h = await start({ plans: { price_pro: 'premium', price_base: 'basic' } });
    const subscription = (price: string) => ({ id: 'sub_1', object: 'subscription', items: { data: [{ price: { id: price } }] } });
    const newer = event('customer.subscription.updated', 20, subscription('price_pro'));
    const older = event('customer.subscription.updated', 10, subscription('price_base'));
    expect((await deliver(h, newer)).body).toMatchObject({ action: 'change-tier', tier: 'premium', redeployed: true });
    expect(h.redeployed).toEqual(['acme:premium']);
    expect((await deliver(h, older)).body).toMatchObject({ action: 'ignored' });
    const record = await h.state.getTenant('acme');
    expect(record?.tier).toBe('premium');
    expect(record?.billing?.plan).toBe('price_pro');
    expect(auditText(h)).toContain('"action":"tenant.tier"');
  });

  it('a deleted subscription schedules offboarding after the grace period, performed when due', async () => {
    const h = await start({ offboardGracePeriod: '1h' });
    const answer = await deliver(h, event('customer.subscription.deleted', 0, { id: 'sub_1' }));
    expect(answer.body).toMatchObject({ action: 'schedule-offboard', offboardAfter: new Date(NOW + 3_600_000).toISOString() });
    expect(h.offboarded).toEqual([]);
    // A late (older) subscription update does not cancel it; the schedule stands.
    expect((await deliver(h, event('customer.subscription.updated', -10, { id: 'sub_1', status: 'active' }))).body).toMatchObject({ action: 'ignored' });
    expect((await h.state.getTenant('acme'))?.billing).toMatchObject({ offboardAfter: new Date(NOW + 3_600_000).toISOString() });
    h.clock.now = NOW + 3_600_000 + 1000;
    const later = await deliver(h, event('invoice.paid', 3700));
    expect(later.body).toMatchObject({ offboarded: [{ tenant: 'acme', ok: true }] });
    expect(h.offboarded).toEqual(['acme']);
  });

  it('events for unknown customers are acknowledged and recorded, malformed bodies are 400', async () => {
    const h = await start({});
    const text = JSON.stringify({ id: 'evt_unknown', type: 'invoice.paid', created: NOW / 1000, data: { object: { customer: 'cus_nobody' } } });
    expect(await deliver(h, { text })).toMatchObject({ status: 200, body: { action: 'ignored' } });
    expect(await deliver(h, { text: '{"id":1}' })).toMatchObject({ status: 400, body: { error: 'invalid-event' } });
    expect(await deliver(h, { text: 'not json' })).toMatchObject({ status: 400, body: { error: 'invalid-json' } });
    const ledger = JSON.parse(readFileSync(join(h.project.paths.state, 'billing', 'ledger.json'), 'utf8')) as { processed: Array<{ id: string }> };
    expect(ledger.processed.map((p) => p.id)).toContain('evt_unknown');
  });

  it('a customer maps to one tenant only', async () => {
    const h = await start({});
    await createDeployedTenant(h.state, 'dev', { id: 'globex', tier: 'basic', extensions: [] });
    await expect(setBillingCustomer(h.state, 'globex', 'cus_acme')).rejects.toMatchObject({ exitCode: 4 });
    await expect(setBillingCustomer(h.state, 'globex', 'bad id!')).rejects.toMatchObject({ exitCode: 2 });
  });

  it('a subscription live again (newer than its deletion) cancels the scheduled offboarding', async () => {
    const h = await start({ offboardGracePeriod: '1h' });
    await deliver(h, event('customer.subscription.deleted', 0, { id: 'sub_1' }));
    const revived = await deliver(h, event('customer.subscription.updated', 10, { id: 'sub_1', status: 'active' }));
    expect(revived.body).toMatchObject({ action: 'record', reason: expect.stringContaining('offboarding cancelled') });
    expect((await h.state.getTenant('acme'))?.billing).not.toHaveProperty('offboardAfter');
    h.clock.now = NOW + 7_200_000;
    await deliver(h, event('invoice.paid', 7000));
    expect(h.offboarded).toEqual([]);
  });

  it('a plan change redeploys through the local deployer: the deploy is recorded with the new tier in force', async () => {
    const h = await start({ plans: { price_enterprise: 'premium' } }, { realDeploy: true });
    const answer = await deliver(h, event('customer.subscription.updated', 5, { id: 'sub_9', items: { data: [{ price: { id: 'price_enterprise', lookup_key: 'enterprise' } }] } }));
    expect(answer.body).toMatchObject({ action: 'change-tier', tier: 'premium', redeployed: true });
    const record = await h.state.getTenant('acme');
    expect(record?.tier).toBe('premium');
    expect(record?.deploys.at(-1)).toMatchObject({ target: 'local', outcome: 'success', by: expect.any(String) });
    const actions = auditText(h).trim().split('\n').map((l) => (JSON.parse(l) as { action: string; command: string }));
    expect(actions.slice(-2).map((a) => `${a.command}:${a.action}`)).toEqual(['billing webhook:tenant.tier', 'billing webhook:tenant.deploy']);
  }, 60_000);

  it('concurrent deliveries for one customer all count (no lost update)', async () => {
    const h = await start({ suspendAfterFailures: 6 });
    // Started in the same tick, straight into the handler, so every read happens before any write.
    const deps: BillingWebhookDeps = { state: h.state, project: h.project, secrets: [SECRET], now: () => h.clock.now };
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => {
        const e = event('invoice.payment_failed', 100 + i, { id: `in_${i}` });
        return handleBillingWebhook({ headers: { 'stripe-signature': signatureHeader([SECRET], NOW / 1000, e.text) }, rawBody: e.text }, deps);
      }),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.filter((a) => a.body.action === 'suspend')).toHaveLength(1);
    expect((await h.state.getTenant('acme'))?.billing?.failedPayments).toBe(6);
    expect(await status(h)).toBe('suspended');
  });
});
