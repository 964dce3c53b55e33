import { describe, expect, it } from 'vitest';
import { ReplayGuard, signWebhook, verifyWebhook, WebhookVerificationError } from './webhook.js';

describe('Standard Webhooks signatures', () => {
  it('matches the published Standard Webhooks test vector', () => {
    expect(signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}'))
      .toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('verifies with any of several secrets and signatures, and names the failure otherwise', () => {
    const now = 1_700_000_000_000;
    const ts = String(now / 1000);
    const headers = { 'webhook-id': 'm1', 'webhook-timestamp': ts, 'webhook-signature': `v1,AAAA ${signWebhook('new', 'm1', ts, 'b')}` };
    expect(verifyWebhook({ secret: ['old', 'new'], headers, body: 'b', now })).toEqual({ id: 'm1', timestamp: now / 1000 });
    const reason = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as WebhookVerificationError).reason;
      }
      return 'accepted';
    };
    expect(reason(() => verifyWebhook({ secret: 'old', headers, body: 'b', now }))).toBe('bad-signature');
    expect(reason(() => verifyWebhook({ secret: 'new', headers: { ...headers, 'webhook-timestamp': 'soon' }, body: 'b', now }))).toBe('bad-timestamp');
    const guard = new ReplayGuard();
    expect(reason(() => verifyWebhook({ secret: 'new', headers, body: 'b', now, replay: guard }))).toBe('accepted');
    expect(reason(() => verifyWebhook({ secret: 'new', headers, body: 'b', now, replay: guard }))).toBe('replayed');
    // Remembered ids expire after twice the tolerance.
    expect(guard.has('m1', now + 11 * 60_000)).toBe(false);
  });

  it('bounds the replay memory', () => {
    const guard = new ReplayGuard(3);
    for (const id of ['a', 'b', 'c', 'd']) guard.remember(id, 0);
    expect(['a', 'b', 'c', 'd'].filter((id) => guard.has(id, 1))).toEqual(['b', 'c', 'd']);
  });
});
