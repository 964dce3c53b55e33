/**
 * Billing webhook signatures (Stripe-Signature) at their edges: the header grammar, each refusal's
 * exact message, the tolerance window's bounds, and how the accepted secrets are read.
 */
import { createHmac } from 'node:crypto';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import {
  BillingSignatureError,
  computeSignature,
  DEFAULT_TOLERANCE_SECONDS,
  parseSignatureHeader,
  secretsFromEnv,
  signatureHeader,
  splitSecrets,
  verifySignature,
} from '../src/billing/signature.js';
import { thrownBy } from './helpers/errors.js';

const SECRET = 'whsec_billing_test';
const NOW = Date.parse('2026-03-01T12:00:00.000Z') + 999;
const T = Math.floor(NOW / 1000);
const body = '{"id":"evt_1","type":"invoice.paid"}';
const sig = (secret = SECRET, t = T, payload: string = body) => createHmac('sha256', secret).update(`${t}.${payload}`).digest('hex');

function refusal(run: () => unknown): { reason: string; message: string } {
  const error = thrownBy(run, BillingSignatureError);
  expect(error.name).toBe('BillingSignatureError');
  return { reason: error.reason, message: error.message };
}

describe('the Stripe-Signature header', () => {
  it('reads the timestamp and every well-formed v1 signature, lower-cased, ignoring the rest', () => {
    const upper = sig().toUpperCase();
    expect(parseSignatureHeader(` t = ${T} , v1=${upper},v0=${sig()},=x,junk,tz,v1=short,v1=${sig('other')}`)).toEqual({ timestamp: T, signatures: [sig(), sig('other')] });
    // A v1 value with anything before or after its 64 hex digits is not a signature.
    expect(parseSignatureHeader(`t=${T},v1=z${sig()},v1=${sig()}z,v1=${sig('other')}`)).toEqual({ timestamp: T, signatures: [sig('other')] });
  });

  it('refuses a missing, blank, timestamp-less or signature-less header with what is wrong', () => {
    expect(refusal(() => parseSignatureHeader(undefined))).toEqual({ reason: 'missing', message: 'the Stripe-Signature header is missing' });
    expect(refusal(() => parseSignatureHeader('   '))).toEqual({ reason: 'missing', message: 'the Stripe-Signature header is missing' });
    expect(refusal(() => parseSignatureHeader(`v1=${sig()}`))).toEqual({ reason: 'malformed', message: 'the Stripe-Signature header has no timestamp (t=…)' });
    expect(refusal(() => parseSignatureHeader(`t=${T},v1=${'g'.repeat(64)}`))).toEqual({ reason: 'malformed', message: 'the Stripe-Signature header has no v1 signature' });
  });

  it('refuses a timestamp that is not up to twelve digits of seconds', () => {
    for (const t of ['1.5', '-1', 'now', '1234567890123', '']) {
      expect(refusal(() => parseSignatureHeader(`t=${t},v1=${sig()}`))).toEqual({ reason: 'malformed', message: 'the Stripe-Signature timestamp is not a number of seconds' });
    }
    expect(parseSignatureHeader(`t=123456789012,v1=${sig()}`).timestamp).toBe(123456789012);
  });

  it('is written as t=… then one v1 per secret, each the HMAC over "<t>.<payload>"', () => {
    expect(signatureHeader([SECRET, 'other'], T, body)).toBe(`t=${T},v1=${sig()},v1=${sig('other')}`);
    expect(computeSignature(SECRET, T, Buffer.from(body))).toBe(sig());
  });
});

describe('verifySignature', () => {
  const verify = (header: string, options: { now?: number; toleranceSeconds?: number } = {}, secrets = [SECRET]) => verifySignature(header, body, secrets, { now: NOW, ...options });

  it(`accepts a signature up to ${DEFAULT_TOLERANCE_SECONDS} s old or ahead and refuses one second more`, () => {
    expect(verify(signatureHeader([SECRET], T - DEFAULT_TOLERANCE_SECONDS, body))).toBe(T - DEFAULT_TOLERANCE_SECONDS);
    expect(verify(signatureHeader([SECRET], T + DEFAULT_TOLERANCE_SECONDS, body))).toBe(T + DEFAULT_TOLERANCE_SECONDS);
    expect(refusal(() => verify(signatureHeader([SECRET], T - DEFAULT_TOLERANCE_SECONDS - 1, body)))).toEqual({ reason: 'stale', message: `the signature is older than ${DEFAULT_TOLERANCE_SECONDS} s` });
    expect(refusal(() => verify(signatureHeader([SECRET], T + DEFAULT_TOLERANCE_SECONDS + 1, body)))).toEqual({ reason: 'future', message: `the signature is more than ${DEFAULT_TOLERANCE_SECONDS} s in the future` });
  });

  it('takes its tolerance and clock from the options', () => {
    expect(refusal(() => verify(signatureHeader([SECRET], T - 11, body), { toleranceSeconds: 10 })).message).toBe('the signature is older than 10 s');
    expect(verify(signatureHeader([SECRET], T - 11, body), { toleranceSeconds: 10, now: NOW - 1000 })).toBe(T - 11);
  });

  it('refuses when no configured secret is usable, and when no signature matches', () => {
    expect(refusal(() => verify(signatureHeader([SECRET], T, body), {}, ['', '']))).toEqual({ reason: 'no-secret', message: 'no billing webhook signing secret is configured' });
    expect(verify(signatureHeader([SECRET], T, body), {}, ['', SECRET])).toBe(T);
    expect(refusal(() => verify(signatureHeader(['other'], T, body)))).toEqual({ reason: 'mismatch', message: 'no v1 signature matches the payload' });
  });
});

describe('the accepted secrets', () => {
  it('are split on commas and any whitespace, empty pieces dropped', () => {
    expect(splitSecrets(' a, b\tc,,d\n')).toEqual(['a', 'b', 'c', 'd']);
    expect(secretsFromEnv({ SOVEREIGN_BILLING_WEBHOOK_SECRET: 'old new' })).toEqual(['old', 'new']);
    expect(secretsFromEnv({})).toEqual([]);
  });
});

describe('interoperability with the stripe library (the oracle)', () => {
  const stripe = new Stripe('sk_test_oracle');
  const payload = JSON.stringify({ id: 'evt_oracle', object: 'event', type: 'invoice.paid', data: { object: { customer: 'cus_1' } } });
  const seconds = Math.floor(NOW / 1000);

  it('verifies what stripe signs, and refuses it altered or under another secret', () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET, timestamp: seconds });
    expect(verifySignature(header, payload, [SECRET], { now: NOW })).toBe(seconds);
    expect(thrownBy(() => verifySignature(header, payload.replace('cus_1', 'cus_2'), [SECRET], { now: NOW }), BillingSignatureError).reason).toBe('mismatch');
    expect(thrownBy(() => verifySignature(header, payload, ['whsec_other'], { now: NOW }), BillingSignatureError).reason).toBe('mismatch');
  });

  it('signs what stripe verifies, with every secret of a rotation', () => {
    const header = signatureHeader([SECRET, 'whsec_next'], seconds, payload);
    for (const secret of [SECRET, 'whsec_next']) {
      expect(stripe.webhooks.constructEvent(payload, header, secret, 300, undefined, seconds)).toMatchObject({ id: 'evt_oracle' });
    }
    expect(() => stripe.webhooks.constructEvent(payload, header, 'whsec_other', 300, undefined, seconds)).toThrow();
  });
});
