/**
 * The rotation webhook's signature check at its edges: the key forms, each header refusal, the
 * timestamp window at and one past its bounds, the signature list, replays, and the replay
 * memory's bounds.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  generateWebhookSecret,
  MAX_WEBHOOK_BODY_BYTES,
  ReplayGuard,
  signWebhook,
  verifyWebhook,
  WEBHOOK_TOLERANCE_SECONDS,
  webhookHeaders,
  WebhookVerificationError,
  type VerifyWebhookOptions,
} from '../src/runtime/webhook.js';
import { thrownBy } from './helpers/errors.js';

const SECRET = 'rotation-secret';
const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const T = Math.floor(NOW / 1000);
const body = '{"type":"secret.rotated"}';
const headers = (extra: Record<string, string | undefined> = {}, timestamp: number | string = T) => ({
  'webhook-id': 'msg_1',
  'webhook-timestamp': String(timestamp),
  'webhook-signature': signWebhook(SECRET, 'msg_1', timestamp, body),
  ...extra,
});
const verify = (options: Partial<VerifyWebhookOptions> = {}) => verifyWebhook({ secret: SECRET, headers: headers(), body, now: NOW, ...options });

function refusal(run: () => unknown): { reason: string; message: string } {
  const error = thrownBy(run, WebhookVerificationError);
  expect(error.name).toBe('WebhookVerificationError');
  return { reason: error.reason, message: error.message };
}

describe('webhook signing', () => {
  it('uses the decoded bytes of a whsec_ secret and the UTF-8 bytes of any other', () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    const mac = (k: Buffer) => `v1,${createHmac('sha256', k).update(`msg_1.${T}.${body}`).digest('base64')}`;
    expect(signWebhook(`whsec_${key.toString('base64')}`, 'msg_1', T, body)).toBe(mac(key));
    expect(signWebhook('plain-secret', 'msg_1', T, body)).toBe(mac(Buffer.from('plain-secret')));
  });

  it('gives the headers of a delivery, timestamped in whole seconds', () => {
    expect(webhookHeaders(SECRET, 'msg_1', body, NOW + 999)).toEqual({
      'content-type': 'application/json',
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(T),
      'webhook-signature': signWebhook(SECRET, 'msg_1', T, body),
    });
    expect(verify({ headers: webhookHeaders(SECRET, 'msg_1', body, NOW) })).toEqual({ id: 'msg_1', timestamp: T });
  });
});

describe('verifyWebhook refuses', () => {
  it(`a body over ${MAX_WEBHOOK_BODY_BYTES} bytes, by its byte length or the size given`, () => {
    const large = 'é'.repeat(MAX_WEBHOOK_BODY_BYTES / 2 + 1);
    expect(refusal(() => verify({ body: large }))).toEqual({ reason: 'too-large', message: `body is ${MAX_WEBHOOK_BODY_BYTES + 2} bytes; the limit is ${MAX_WEBHOOK_BODY_BYTES}` });
    expect(refusal(() => verify({ bodyBytes: MAX_WEBHOOK_BODY_BYTES + 1 })).reason).toBe('too-large');
    const max = 'a'.repeat(MAX_WEBHOOK_BODY_BYTES);
    expect(verify({ body: max, headers: { ...headers(), 'webhook-signature': signWebhook(SECRET, 'msg_1', T, max) } }).id).toBe('msg_1');
  });

  it('a missing or blank header, naming it', () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      expect(refusal(() => verify({ headers: headers({ [name]: undefined }) }))).toEqual({ reason: 'missing-header', message: `header ${name} is missing` });
      expect(refusal(() => verify({ headers: headers({ [name]: '  ' }) })).message).toBe(`header ${name} is missing`);
    }
  });

  it('a timestamp that is not whole unix seconds', () => {
    for (const bad of ['soon', '1.5', '-5', '1234567890123456', `${T}s`]) {
      expect(refusal(() => verify({ headers: headers({ 'webhook-timestamp': bad }) }))).toEqual({ reason: 'bad-timestamp', message: 'webhook-timestamp must be unix seconds' });
    }
  });

  it(`a timestamp more than ${WEBHOOK_TOLERANCE_SECONDS} s off either way, and accepts one at the edge`, () => {
    expect(verify({ headers: headers({}, T - WEBHOOK_TOLERANCE_SECONDS) }).timestamp).toBe(T - WEBHOOK_TOLERANCE_SECONDS);
    expect(verify({ headers: headers({}, T + WEBHOOK_TOLERANCE_SECONDS) }).timestamp).toBe(T + WEBHOOK_TOLERANCE_SECONDS);
    expect(refusal(() => verify({ headers: headers({}, T - WEBHOOK_TOLERANCE_SECONDS - 1) }))).toEqual({ reason: 'stale-timestamp', message: `webhook-timestamp is ${WEBHOOK_TOLERANCE_SECONDS + 1} s old; at most ${WEBHOOK_TOLERANCE_SECONDS} s accepted` });
    expect(refusal(() => verify({ headers: headers({}, T + WEBHOOK_TOLERANCE_SECONDS + 1) }))).toEqual({ reason: 'future-timestamp', message: `webhook-timestamp is ${WEBHOOK_TOLERANCE_SECONDS + 1} s in the future; at most ${WEBHOOK_TOLERANCE_SECONDS} s accepted` });
    expect(refusal(() => verify({ toleranceSeconds: 10, headers: headers({}, T - 11) })).message).toBe('webhook-timestamp is 11 s old; at most 10 s accepted');
  });

  it('a timestamp with spaces around it is read as the number, and signed as sent', () => {
    const spaced = ` ${T} `;
    expect(verify({ headers: { ...headers(), 'webhook-timestamp': spaced, 'webhook-signature': signWebhook(SECRET, 'msg_1', spaced, body) } })).toEqual({ id: 'msg_1', timestamp: T });
  });

  it('signatures that do not match, of another version, empty or cut short', () => {
    const good = signWebhook(SECRET, 'msg_1', T, body);
    for (const signatures of [signWebhook('other', 'msg_1', T, body), good.replace('v1,', 'v2,'), 'v1,', 'v1', good.slice(0, -8), signWebhook(SECRET, 'msg_2', T, body)]) {
      expect(refusal(() => verify({ headers: headers({ 'webhook-signature': signatures }) }))).toEqual({ reason: 'bad-signature', message: 'no webhook-signature matches' });
    }
    expect(refusal(() => verify({ body: `${body} ` })).reason).toBe('bad-signature');
  });

  it('accepts a good signature anywhere in the list, and any of several secrets', () => {
    const good = signWebhook(SECRET, 'msg_1', T, body);
    expect(verify({ headers: headers({ 'webhook-signature': `v2,abc v1,${'A'.repeat(44)} ${good}` }) }).id).toBe('msg_1');
    expect(verify({ secret: ['old-secret', SECRET] }).id).toBe('msg_1');
    expect(verify({ secret: [SECRET, 'new-secret'] }).id).toBe('msg_1');
  });

  it('a replayed id, remembering only deliveries that verified', () => {
    const replay = new ReplayGuard();
    expect(refusal(() => verify({ replay, headers: headers({ 'webhook-signature': 'v1,AAAA' }) })).reason).toBe('bad-signature');
    expect(verify({ replay }).id).toBe('msg_1');
    expect(refusal(() => verify({ replay }))).toEqual({ reason: 'replayed', message: 'message msg_1 was already delivered' });
  });
});

describe('ReplayGuard', () => {
  it('remembers an id for its retention, up to but not at the expiry', () => {
    const guard = new ReplayGuard(10, 1000);
    expect(guard.has('a', 0)).toBe(false);
    guard.remember('a', 0);
    expect(guard.has('a', 999)).toBe(true);
    expect(guard.has('a', 1000)).toBe(false);
  });

  it('by default for twice the timestamp tolerance', () => {
    const guard = new ReplayGuard();
    guard.remember('a', 0);
    expect(guard.has('a', 2 * WEBHOOK_TOLERANCE_SECONDS * 1000 - 1)).toBe(true);
    expect(guard.has('a', 2 * WEBHOOK_TOLERANCE_SECONDS * 1000)).toBe(false);
  });

  it('holds at most its maximum, forgetting the oldest first', () => {
    const guard = new ReplayGuard(2, 1000);
    for (const id of ['a', 'b', 'c']) guard.remember(id, 0);
    expect(['a', 'b', 'c'].map((id) => guard.has(id, 1))).toEqual([false, true, true]);
  });

  it('forgets expired ids first and keeps live ones', () => {
    const guard = new ReplayGuard(3, 1000);
    guard.remember('old', 0);
    guard.remember('live', 500);
    guard.remember('new', 1200);
    expect(['old', 'live', 'new'].map((id) => guard.has(id, 1200))).toEqual([false, true, true]);
    guard.remember('newer', 1200);
    guard.remember('newest', 1200);
    // Full at three: the oldest live id goes.
    expect(['live', 'new', 'newer', 'newest'].map((id) => guard.has(id, 1200))).toEqual([false, true, true, true]);
  });
});

describe('Standard Webhooks interoperability (the `standardwebhooks` library as oracle)', () => {
  const notice = '{"tenant":"acme","references":["ssm:/dev/tenants/acme/avalara/account_id"]}';

  it('generates whsec_ secrets of 32 random bytes, a new one each time', () => {
    const secrets = new Set(Array.from({ length: 20 }, () => generateWebhookSecret()));
    expect(secrets.size).toBe(20);
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    }
  });

  it('signs what the library verifies', () => {
    const secret = generateWebhookSecret();
    const signed = webhookHeaders(secret, 'msg_ours', notice, Date.now());
    expect(new Webhook(secret).verify(notice, signed)).toEqual(JSON.parse(notice));
    const other = generateWebhookSecret();
    expect(() => new Webhook(other).verify(notice, signed)).toThrow();
  });

  it('verifies what the library signs, and refuses it under another secret or altered', () => {
    const secret = generateWebhookSecret();
    const now = new Date();
    const theirs = { 'webhook-id': 'msg_theirs', 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign('msg_theirs', now, notice) };
    expect(verifyWebhook({ secret, headers: theirs, body: notice, now: now.getTime() })).toEqual({ id: 'msg_theirs', timestamp: Math.floor(now.getTime() / 1000) });
    expect(refusal(() => verifyWebhook({ secret: generateWebhookSecret(), headers: theirs, body: notice, now: now.getTime() })).reason).toBe('bad-signature');
    expect(refusal(() => verifyWebhook({ secret, headers: theirs, body: notice.replace('acme', 'acmf'), now: now.getTime() })).reason).toBe('bad-signature');
  });

  it('still verifies a secret of the earlier form (no prefix, its UTF-8 bytes the key) signed by sovereign', () => {
    const legacy = randomBytes(32).toString('base64url');
    const signed = webhookHeaders(legacy, 'msg_legacy', notice, NOW);
    expect(verifyWebhook({ secret: legacy, headers: signed, body: notice, now: NOW }).id).toBe('msg_legacy');
  });
});
