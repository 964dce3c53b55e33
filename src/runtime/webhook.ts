/**
 * Standard Webhooks signatures for the rotation webhook: `webhook-id`, `webhook-timestamp` (unix
 * seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, several
 * space-separated signatures allowed (key rollover). The CLI signs with {@link signWebhook}; the
 * runtime verifies with {@link verifyWebhook}.
 *
 * Secrets are made by {@link generateWebhookSecret} in the form Standard Webhooks defines,
 * `whsec_<base64 of 32 random bytes>`: the decoded bytes are the HMAC key, so any Standard
 * Webhooks library can sign a notice with the stored value as it is. A secret without the prefix
 * (what tenants provisioned before this form was adopted hold: 32 random bytes in base64url) is
 * still accepted, its UTF-8 bytes being the key; only sovereign's own signer speaks that form.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Random bytes in a new signing secret (Standard Webhooks allows 24 to 64). */
export const WEBHOOK_SECRET_BYTES = 32;
const SECRET_PREFIX = 'whsec_';

/** A new signing secret, `whsec_<base64>`: the one generator every target provisions tenants with. */
export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(WEBHOOK_SECRET_BYTES).toString('base64')}`;
}

/** Largest accepted body, in bytes. */
export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;
/** Accepted clock difference, in seconds, either way. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export type WebhookFailure =
  | 'missing-header'
  | 'bad-timestamp'
  | 'stale-timestamp'
  | 'future-timestamp'
  | 'bad-signature'
  | 'replayed'
  | 'too-large';

export class WebhookVerificationError extends Error {
  readonly reason: WebhookFailure;
  constructor(reason: WebhookFailure, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.reason = reason;
  }
}

function keyBytes(secret: string): Buffer {
  return secret.startsWith(SECRET_PREFIX) ? Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64') : Buffer.from(secret, 'utf8');
}

/** The `webhook-signature` header value for one message: `v1,<base64>`. */
export function signWebhook(secret: string, id: string, timestamp: number | string, body: string): string {
  const mac = createHmac('sha256', keyBytes(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** Headers for a signed delivery (what `secrets rotate` sends). */
export function webhookHeaders(secret: string, id: string, body: string, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(secret, id, timestamp, body),
  };
}

/**
 * Remembers delivered message ids for twice the tolerance, so a replay inside the accepted
 * timestamp window is refused; bounded so a flood cannot exhaust memory.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  constructor(private readonly maxEntries = 10_000, private readonly retainMs = 2 * WEBHOOK_TOLERANCE_SECONDS * 1000) {}

  has(id: string, now: number): boolean {
    const expiry = this.seen.get(id);
    return expiry !== undefined && expiry > now;
  }

  remember(id: string, now: number): void {
    for (const [key, expiry] of this.seen) {
      if (expiry > now && this.seen.size < this.maxEntries) break;
      this.seen.delete(key);
    }
    this.seen.set(id, now + this.retainMs);
  }
}

export interface VerifyWebhookOptions {
  /** One secret or several (rollover): a signature by any of them is accepted. */
  secret: string | string[];
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  body: string;
  /** Body size in bytes when known (base64-decoded events); defaults to the UTF-8 length. */
  bodyBytes?: number;
  now?: number;
  toleranceSeconds?: number;
  /** Refuses ids already delivered and records this one when it verifies. */
  replay?: ReplayGuard;
}

/** Verifies a delivery; returns its id and timestamp or throws {@link WebhookVerificationError}. */
export function verifyWebhook(options: VerifyWebhookOptions): { id: string; timestamp: number } {
  const now = options.now ?? Date.now();
  const bytes = options.bodyBytes ?? Buffer.byteLength(options.body);
  if (bytes > MAX_WEBHOOK_BODY_BYTES) {
    throw new WebhookVerificationError('too-large', `body is ${bytes} bytes; the limit is ${MAX_WEBHOOK_BODY_BYTES}`);
  }
  const id = options.headers['webhook-id'];
  const timestampText = options.headers['webhook-timestamp'];
  const signatures = options.headers['webhook-signature'];
  for (const [name, value] of [['webhook-id', id], ['webhook-timestamp', timestampText], ['webhook-signature', signatures]] as const) {
    if (value === undefined || value.trim() === '') throw new WebhookVerificationError('missing-header', `header ${name} is missing`);
  }
  if (!/^\d{1,15}$/.test((timestampText as string).trim())) {
    throw new WebhookVerificationError('bad-timestamp', 'webhook-timestamp must be unix seconds');
  }
  const timestamp = Number((timestampText as string).trim());
  const tolerance = options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS;
  const skew = timestamp - Math.floor(now / 1000);
  if (skew < -tolerance) throw new WebhookVerificationError('stale-timestamp', `webhook-timestamp is ${-skew} s old; at most ${tolerance} s accepted`);
  if (skew > tolerance) throw new WebhookVerificationError('future-timestamp', `webhook-timestamp is ${skew} s in the future; at most ${tolerance} s accepted`);

  const secrets = Array.isArray(options.secret) ? options.secret : [options.secret];
  const expected = secrets.map((secret) => Buffer.from(signWebhook(secret, id as string, timestampText as string, options.body).slice(3), 'base64'));
  let valid = false;
  for (const candidate of (signatures as string).split(' ')) {
    const [version, value] = candidate.split(',', 2);
    if (version !== 'v1' || !value) continue;
    const given = Buffer.from(value, 'base64');
    for (const mac of expected) {
      // Compare every candidate (no early exit on the secret side) in constant time per pair.
      if (given.length === mac.length && timingSafeEqual(given, mac)) valid = true;
    }
  }
  if (!valid) throw new WebhookVerificationError('bad-signature', 'no webhook-signature matches');
  if (options.replay) {
    if (options.replay.has(id as string, now)) throw new WebhookVerificationError('replayed', `message ${id} was already delivered`);
    options.replay.remember(id as string, now);
  }
  return { id: id as string, timestamp };
}
