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

const ssmSegment = String.raw`(?!\.\.?(?:/|$))[A-Za-z0-9_.-]+`;
const ssmUnreserved = '(?![Aa][Ww][Ss]|[Ss][Ss][Mm])';
const secretSegment = String.raw`(?!\.\.?(?:[/:]|$))[A-Za-z0-9_+=.@-]+`;
const label = '[A-Za-z0-9_.+=@-]{1,256}';
/**
 * The syntax of a secret reference (`parseReference` in src/contract/reference.ts) as one regular
 * expression, for the JSON Schema editors and CI validators read: the same characters, segments,
 * lengths, levels, reserved prefixes and suffixes and parts. The CLI still checks with
 * `parseReference` (whose messages say which character is wrong); a property test keeps the two equal.
 */
export const REFERENCE_PATTERN = new RegExp(
  '^(?:' +
    `ssm:(?=.{1,2048}$)(?:/${ssmUnreserved}${ssmSegment}(?:/${ssmSegment}){0,14}|${ssmUnreserved}${ssmSegment})` +
    '|' +
    `secretsmanager:(?!arn:)(?=[^:]{1,512}(?::|$))(?![^:]*-[A-Za-z0-9]{6}(?::|$))${secretSegment}(?:/${secretSegment})*(?::(?:${label})?:${label}|:${label})?` +
    ')$',
);

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
      .superRefine((text, ctx) => {
        const reference = parseReference(text);
        // The message never repeats the text: a value may have been pasted where the reference belongs.
        if (!reference.ok) ctx.addIssue({ code: 'custom', message: `not a secret reference: ${reference.problem.message}`, params: { conceal: true } });
      })
      .meta({ pattern: REFERENCE_PATTERN.source })
      .optional()
      .describe('aws: reference (ssm:… or secretsmanager:…) of the signing secret the control-plane function reads, never the value; default ssm:/<stage>/_sovereign/billing/webhook_secret'),
  })
  .strict()
  .describe('How billing events drive tenants: suspension after failed payments, offboarding, plans → tiers');

/** What `billing` takes, for errors about it. */
export const BILLING_HINT =
  'billing takes suspendAfterFailures (1–100), offboardGracePeriod (e.g. "30d"), plans ({ "<price id>": "basic|standard|premium" }) and webhookSecret (a reference such as "ssm:/prod/_sovereign/billing/webhook_secret", never the value)';

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
    throw badInput(`sovereign.config.json: ${path}: ${issue.message}`, BILLING_HINT);
  }
  return { ...parsed.data, offboardGraceMs: durationMs(parsed.data.offboardGracePeriod) };
}
