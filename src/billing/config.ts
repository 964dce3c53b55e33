/**
 * The `billing` section of `sovereign.config.json`:
 *
 * ```json
 * "billing": {
 *   "suspendAfterFailures": 3,
 *   "offboardGracePeriod": "30d",
 *   "plans": { "price_basic": "basic", "price_pro": "standard", "price_enterprise": "premium" },
 *   "webhookSecret": "ssm:/prod/_sovereign/billing/webhook_secret"
 * }
 * ```
 */
import { z } from 'zod';
import { badInput } from '../errors.js';
import type { Tier } from '../config.js';
import { parseReference } from '../contract/reference.js';
import { TENANT_TIERS } from '../contract/runtime-environment.js';

const tier = z.enum(TENANT_TIERS);

export const billingConfigSchema = z
  .object({
    suspendAfterFailures: z.number().int().min(1).max(100).default(3).describe('Failed payments in a row before the tenant is suspended'),
    offboardGracePeriod: z
      .string()
      .regex(/^\d+(s|m|h|d)$/, 'a duration such as 30d, 12h, 90m or 0s')
      .default('30d')
      .describe('How long after the subscription ends the tenant is offboarded'),
    plans: z.record(z.string().min(1), tier).default({}).describe('Billing price, plan or lookup key → tier'),
    webhookSecret: z
      .string()
      .min(1)
      .optional()
      .describe('aws: reference (ssm:… or secretsmanager:…) of the signing secret the control-plane function reads; default ssm:/<stage>/_sovereign/billing/webhook_secret'),
  })
  .strict();

export interface BillingConfig {
  suspendAfterFailures: number;
  offboardGraceMs: number;
  offboardGracePeriod: string;
  plans: Record<string, Tier>;
  /** Reference to the signing secret on aws (never the value). */
  webhookSecret?: string;
}

export function durationMs(text: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!match) throw badInput(`"${text}" is not a duration`, 'e.g. 30d, 12h, 90m or 0s');
  return Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

/** Validates `config.billing` (absent: the defaults); a problem is exit 2 naming the key. */
export function parseBillingConfig(raw: unknown): BillingConfig {
  const parsed = billingConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = ['billing', ...issue.path.map(String)].join('.');
    throw badInput(`sovereign.config.json: ${path}: ${issue.message}`, 'billing takes suspendAfterFailures (number), offboardGracePeriod (e.g. "30d") and plans ({ "<price id>": "basic|standard|premium" })');
  }
  if (parsed.data.webhookSecret !== undefined) {
    const reference = parseReference(parsed.data.webhookSecret);
    // The message never repeats the text: a value may have been pasted where the reference belongs.
    if (!reference.ok) throw badInput(`sovereign.config.json: billing.webhookSecret is not a secret reference: ${reference.problem.message}`, 'e.g. "ssm:/prod/_sovereign/billing/webhook_secret"; store the value with your secret store, never in the config');
  }
  return { ...parsed.data, offboardGraceMs: durationMs(parsed.data.offboardGracePeriod) };
}
