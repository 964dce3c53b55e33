/**
 * Stripe-compatible webhook signatures: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`
 * where each `v1` is HMAC-SHA256 over `${t}.${payload}` with a signing secret. Several `v1`
 * entries (the sender signing with old and new secrets while rotating) and several accepted
 * secrets (the receiver's side of the same rotation) are both supported; any match passes.
 *
 * Pure apart from node:crypto. Secrets never appear in errors.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signature's timestamp may be from now, either way (Stripe's default). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type SignatureFailure = 'missing' | 'malformed' | 'stale' | 'future' | 'mismatch' | 'no-secret';

export class BillingSignatureError extends Error {
  constructor(readonly reason: SignatureFailure, message: string) {
    super(message);
    this.name = 'BillingSignatureError';
  }
}

export interface ParsedSignatureHeader {
  timestamp: number;
  signatures: string[];
}

/** Parses the header; unknown schemes (`v0=…`) are ignored as Stripe does. */
export function parseSignatureHeader(header: string | undefined): ParsedSignatureHeader {
  if (header === undefined || header.trim() === '') throw new BillingSignatureError('missing', 'the Stripe-Signature header is missing');
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value)) throw new BillingSignatureError('malformed', 'the Stripe-Signature timestamp is not a number of seconds');
      timestamp = Number(value);
    } else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
  }
  if (timestamp === undefined) throw new BillingSignatureError('malformed', 'the Stripe-Signature header has no timestamp (t=…)');
  if (signatures.length === 0) throw new BillingSignatureError('malformed', 'the Stripe-Signature header has no v1 signature');
  return { timestamp, signatures };
}

/** The `v1` signature of a payload (for senders and tests). */
export function computeSignature(secret: string, timestamp: number, payload: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(payload).digest('hex');
}

/** A complete header value for a payload signed with each of `secrets`. */
export function signatureHeader(secrets: string[], timestamp: number, payload: string | Buffer): string {
  return [`t=${timestamp}`, ...secrets.map((secret) => `v1=${computeSignature(secret, timestamp, payload)}`)].join(',');
}

export interface VerifyOptions {
  toleranceSeconds?: number;
  /** Current time in milliseconds. */
  now?: number;
}

/**
 * Verifies the header against the raw body (exact bytes as received). Returns the signed
 * timestamp; throws {@link BillingSignatureError} saying why not (without any secret).
 */
export function verifySignature(header: string | undefined, rawBody: string | Buffer, secrets: string[], options: VerifyOptions = {}): number {
  const usable = secrets.filter((s) => s.length > 0);
  if (usable.length === 0) throw new BillingSignatureError('no-secret', 'no billing webhook signing secret is configured');
  const parsed = parseSignatureHeader(header);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
  if (parsed.timestamp < nowSeconds - tolerance) throw new BillingSignatureError('stale', `the signature is older than ${tolerance} s`);
  if (parsed.timestamp > nowSeconds + tolerance) throw new BillingSignatureError('future', `the signature is more than ${tolerance} s in the future`);
  let matched = false;
  for (const secret of usable) {
    const expected = Buffer.from(computeSignature(secret, parsed.timestamp, rawBody), 'hex');
    for (const candidate of parsed.signatures) {
      // Every pair is compared, in constant time, so timing says nothing about which one matched.
      if (timingSafeEqual(expected, Buffer.from(candidate, 'hex'))) matched = true;
    }
  }
  if (!matched) throw new BillingSignatureError('mismatch', 'no v1 signature matches the payload');
  return parsed.timestamp;
}

/** The accepted secrets in one stored value: several separated by commas or spaces while rotating. */
export function splitSecrets(value: string): string[] {
  return value.split(/[\s,]+/).filter((s) => s.length > 0);
}

/** The accepted secrets from `SOVEREIGN_BILLING_WEBHOOK_SECRET`. */
export function secretsFromEnv(env: Record<string, string | undefined> = process.env): string[] {
  return splitSecrets(env.SOVEREIGN_BILLING_WEBHOOK_SECRET ?? '');
}
