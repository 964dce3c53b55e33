/**
 * `POST /_sovereign/billing/webhook`: Stripe-compatible billing events driving the tenant
 * lifecycle. Served by `sovereign dev` locally (see `billingGatewayRoute`); a plain function of
 * the raw request so any server (a control-plane Lambda on aws) can host it.
 *
 * Answers: 200 for every authentic event, including duplicates, late ones and customers without a
 * tenant (so the sender stops retrying); 400 for a bad signature or body; 503 without a secret;
 * 500 when applying the event failed (the sender retries, and the event id stays unprocessed).
 *
 * Several processes may serve deliveries at once (Lambda environments on aws). Each decision is
 * checked, inside the mutation that applies it, against the tenant record as it is then; the
 * ledger's claims (event id, stream watermark) land in the same commit. A delivery that lost a
 * race is decided again from the new state, or answered as the duplicate it is.
 */
import { conflict, ExitCode, firstLine, UserError } from '../errors.js';
import { resumeTenant, suspendTenant, type LifecycleEnv } from '../lifecycle/apply.js';
import type { Project } from '../project.js';
import type { TenantRecord } from '../state/registry.js';
import type { StateStore, Transaction } from '../state/store.js';
import { parseBillingConfig, type BillingConfig } from './config.js';
import { billingEventSchema, decideBillingEvent, dueOffboardings, eventCustomer, orderingKey, tenantBilling, type BillingDecision, type BillingEvent } from './events.js';
import { localBillingLedger } from '../targets/local/billing-ledger.js';
import { ledgerConflict, type BillingLedgerStore, type WatermarkAdvance } from './ledger.js';
import { BillingSignatureError, secretsFromEnv, verifySignature } from './signature.js';

export interface BillingWebhookRequest {
  /** Header names in any case. */
  headers: Record<string, string | string[] | undefined>;
  /** The body exactly as received (the signature covers these bytes). */
  rawBody: Buffer | string;
}

export interface BillingWebhookResponse {
  status: number;
  body: Record<string, unknown>;
}

export interface BillingWebhookDeps {
  state: StateStore;
  project: Project;
  target?: 'local' | 'aws';
  /** Accepted signing secrets; default `SOVEREIGN_BILLING_WEBHOOK_SECRET`. Never logged. */
  secrets?: string[];
  /** Milliseconds since the epoch. */
  now?: () => number;
  toleranceSeconds?: number;
  /** The validated `billing` config; default `project.config.billing`. */
  config?: BillingConfig;
  /** Processed events and watermarks; default `.sovereign/billing/ledger.json`. */
  ledger?: BillingLedgerStore;
  /**
   * Redeploys a tenant with its new tier's limits; default the local deployer. A host that cannot
   * deploy answers `{ redeployed: false, reason }` and the tier waits for the next deploy; one
   * that applies it asynchronously may add `redeploy`, `changeSet` and `stackStatus` (strings),
   * which the answer carries.
   */
  redeploy?: (tenant: string) => Promise<unknown>;
  /** Offboards a tenant whose grace period is over; default `offboardTenant`. */
  offboard?: (tenant: string) => Promise<unknown>;
  /** `report`: due offboardings are listed in the answer, not performed (a host that cannot offboard). */
  dueOffboardings?: 'run' | 'report';
  /** What the 503 answer without a signing secret tells the operator (no value). */
  notConfiguredMessage?: string;
  /** Progress lines (no secrets, no payloads). */
  log?: (line: string) => void;
}

const COMMAND = 'billing webhook';
/** Where `sovereign dev` serves the webhook (the aws function answers there and at `/`). */
export const BILLING_WEBHOOK_PATH = '/_sovereign/billing/webhook';
/**
 * Billing events are a few kilobytes (Stripe's own lists inside an event are cut at ten items);
 * anything larger is not one. Checked before the HMAC, and by the dev gateway while the body
 * streams, so an unsigned sender costs no more than this much memory.
 */
export const MAX_WEBHOOK_BYTES = 256 * 1024;

function header(headers: BillingWebhookRequest['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(',') : value;
  }
  return undefined;
}

function findTenantByCustomer(records: TenantRecord[], customer: string): TenantRecord | undefined {
  return records.find((r) => r.billing?.customerId === customer && r.status !== 'deleted');
}

/** Stages the ledger with this event (inside the mutation, so it lands with its commit). */
async function stageLedger(deps: BillingWebhookDeps, ledger: BillingLedgerStore, tx: Transaction, event: BillingEvent, tenant: string | null, outcome: string, watermark?: WatermarkAdvance): Promise<void> {
  const at = new Date(deps.now?.() ?? Date.now()).toISOString();
  await ledger.stage(tx, { id: event.id, type: event.type, created: event.created, tenant, outcome, at }, watermark);
  tx.eventArgs.event = event.id;
  tx.eventArgs.eventType = event.type;
  tx.eventArgs.outcome = outcome;
}

/** The parts of a record a decision is taken on. */
function decisionBasis(record: TenantRecord): string {
  return JSON.stringify([record.status, record.tier, tenantBilling(record)]);
}

/** Refuses (exit 4, retried from the top) to apply a decision taken on a record that has changed since. */
function assertUndecidedChange(decided: TenantRecord, current: TenantRecord | undefined, event: BillingEvent): TenantRecord {
  if (current === undefined || decisionBasis(current) !== decisionBasis(decided)) {
    throw conflict(`tenant ${decided.id} changed while billing event ${event.id} was being decided`, 'the delivery is decided again on the current record');
  }
  return current;
}

function withBilling(record: TenantRecord, billing: object): TenantRecord {
  return { ...record, billing: billing as TenantRecord['billing'], updatedAt: new Date().toISOString() };
}

async function applyDecision(deps: BillingWebhookDeps, ledger: BillingLedgerStore, event: BillingEvent, record: TenantRecord, decision: BillingDecision, key: string): Promise<Record<string, unknown>> {
  const env: LifecycleEnv = { state: deps.state, project: deps.project, target: deps.target ?? 'local', ...(deps.log ? { warn: deps.log } : {}) };
  const watermark = decision.kind === 'ignore' ? undefined : { key, created: event.created };
  const args = { event: event.id, eventType: event.type, reason: decision.reason };
  const outcome = decision.kind;
  if (decision.kind === 'suspend' || decision.kind === 'resume') {
    const move = decision.kind === 'suspend' ? suspendTenant : resumeTenant;
    const result = await move(env, record.id, {
      command: COMMAND,
      reason: `billing: ${decision.reason}`,
      args,
      extend: async (tx, next) => {
        assertUndecidedChange(record, await deps.state.getTenant(record.id), event);
        await stageLedger(deps, ledger, tx, event, record.id, outcome, watermark);
        return withBilling(next, decision.billing);
      },
    });
    return { tenant: record.id, action: decision.kind, status: result.to, reason: decision.reason };
  }
  if (decision.kind === 'ignore') {
    await deps.state.mutate({ command: COMMAND, action: 'billing.ignored', tenant: record.id, args }, (tx) => stageLedger(deps, ledger, tx, event, record.id, outcome));
    return { tenant: record.id, action: 'ignored', reason: decision.reason };
  }
  const action = decision.kind === 'change-tier' ? 'tenant.tier' : decision.kind === 'schedule-offboard' ? 'tenant.offboard-scheduled' : 'billing.recorded';
  const updated = await deps.state.mutate({ command: COMMAND, action, tenant: record.id, args: decision.kind === 'change-tier' ? { ...args, from: record.tier, to: decision.tier } : args }, async (tx) => {
    const current = assertUndecidedChange(record, await deps.state.getTenant(record.id), event);
    const next = withBilling(decision.kind === 'change-tier' ? { ...current, tier: decision.tier } : current, decision.billing);
    await stageLedger(deps, ledger, tx, event, record.id, outcome, watermark);
    tx.putTenant(next);
    return next;
  });
  const answer: Record<string, unknown> = { tenant: record.id, action: decision.kind, status: updated.status, reason: decision.reason };
  if (decision.kind === 'change-tier') {
    answer.tier = decision.tier;
    try {
      const result = await (deps.redeploy ?? (await defaultRedeploy(deps)))(record.id);
      const declined = result as { redeployed?: unknown; reason?: unknown } | undefined;
      if (declined?.redeployed === false) {
        answer.redeployed = false;
        answer.redeployReason = String(declined.reason);
      } else {
        answer.redeployed = true;
        // A host that applies the change asynchronously says how far it got.
        const progress = (result ?? {}) as { redeploy?: unknown; changeSet?: unknown; stackStatus?: unknown };
        for (const key of ['redeploy', 'changeSet', 'stackStatus'] as const) if (typeof progress[key] === 'string') answer[key] = progress[key];
      }
    } catch (error) {
      // The tier is recorded; the next deploy applies its limits.
      answer.redeployed = false;
      answer.redeployError = firstLine(error);
    }
  }
  if (decision.kind === 'schedule-offboard') answer.offboardAfter = decision.offboardAfter;
  return answer;
}

async function defaultRedeploy(deps: BillingWebhookDeps): Promise<(tenant: string) => Promise<unknown>> {
  const { createLocalDeployer } = await import('../targets/local/deploy.js');
  return createLocalDeployer(deps.state, deps.project, { command: COMMAND });
}

/** Offboards every tenant whose grace period is over; failures are reported, not thrown. */
export async function runDueOffboardings(deps: BillingWebhookDeps): Promise<Array<{ tenant: string; ok: boolean; error?: string }>> {
  const due = dueOffboardings(await deps.state.listTenants(), new Date(deps.now?.() ?? Date.now()));
  const results: Array<{ tenant: string; ok: boolean; error?: string }> = [];
  for (const tenant of due) {
    try {
      if (deps.offboard) await deps.offboard(tenant);
      else {
        const { offboardTenant } = await import('../lifecycle/offboard.js');
        await offboardTenant({ state: deps.state, project: deps.project, target: deps.target ?? 'local' }, { tenant, command: COMMAND, reason: 'billing: subscription ended and its grace period is over' });
      }
      results.push({ tenant, ok: true });
      deps.log?.(`offboarded ${tenant}: subscription ended and its grace period is over`);
    } catch (error) {
      results.push({ tenant, ok: false, error: firstLine(error) });
    }
  }
  return results;
}

/** What the answer says about offboardings whose grace period is over. */
async function dueOffboardingFields(deps: BillingWebhookDeps): Promise<Record<string, unknown>> {
  if (deps.dueOffboardings === 'report') {
    const due = dueOffboardings(await deps.state.listTenants(), new Date(deps.now?.() ?? Date.now()));
    if (due.length === 0) return {};
    deps.log?.(`offboarding due for ${due.join(', ')}: run \`sovereign tenant offboard --due\` (a scheduled job does, see docs/aws.md)`);
    return { offboardDue: due, offboardHint: 'their grace period is over: `sovereign tenant offboard --due` offboards them (run it on a schedule; see docs/aws.md)' };
  }
  const offboarded = await runDueOffboardings(deps);
  return offboarded.length > 0 ? { offboarded } : {};
}

/**
 * Deliveries of one project are applied one at a time in this process: each decision is taken on
 * the record and ledger as the previous delivery left them (the lock alone would serialize the
 * writes, not the reads the decision is based on). Locally the key is the project folder; on aws
 * it is the state store, one per function environment — environments are separate processes,
 * kept apart by the lock, the re-check of each decision and the ledger's conditional writes.
 */
const queues = new Map<unknown, Promise<unknown>>();

function serialized<T>(key: unknown, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

/** Handles one delivery. Never throws; never echoes the secret or the signature. */
export async function handleBillingWebhook(request: BillingWebhookRequest, deps: BillingWebhookDeps): Promise<BillingWebhookResponse> {
  const secrets = deps.secrets ?? secretsFromEnv();
  const size = Buffer.isBuffer(request.rawBody) ? request.rawBody.length : Buffer.byteLength(request.rawBody);
  if (size > MAX_WEBHOOK_BYTES) return { status: 413, body: { error: 'payload-too-large', message: `billing webhooks are limited to ${MAX_WEBHOOK_BYTES} bytes` } };
  try {
    verifySignature(header(request.headers, 'stripe-signature'), request.rawBody, secrets, { now: deps.now?.() ?? Date.now(), ...(deps.toleranceSeconds === undefined ? {} : { toleranceSeconds: deps.toleranceSeconds }) });
  } catch (error) {
    if (error instanceof BillingSignatureError) {
      if (error.reason === 'no-secret') return { status: 503, body: { error: 'not-configured', message: deps.notConfiguredMessage ?? 'set SOVEREIGN_BILLING_WEBHOOK_SECRET to accept billing webhooks' } };
      return { status: 400, body: { error: `signature-${error.reason}`, message: error.message } };
    }
    return { status: 400, body: { error: 'signature-invalid', message: 'the signature could not be checked' } };
  }
  let event: BillingEvent;
  try {
    const parsed = billingEventSchema.safeParse(JSON.parse(Buffer.isBuffer(request.rawBody) ? request.rawBody.toString('utf8') : request.rawBody));
    if (!parsed.success) return { status: 400, body: { error: 'invalid-event', message: 'the body is not a billing event (id, type, created, data.object)' } };
    event = parsed.data;
  } catch {
    return { status: 400, body: { error: 'invalid-json', message: 'the body is not JSON' } };
  }
  return serialized(deps.state.serialKey ?? deps.state, () => applyEvent(deps, event));
}

/** Attempts per delivery when its decision lost a race (record, watermark or lock moved). */
const MAX_DECISION_ATTEMPTS = 3;

async function applyEvent(deps: BillingWebhookDeps, event: BillingEvent): Promise<BillingWebhookResponse> {
  const ledger = deps.ledger ?? localBillingLedger(deps.project);
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await decideAndApply(deps, ledger, event);
    } catch (error) {
      const claim = ledgerConflict(error);
      if (claim === 'duplicate') return { status: 200, body: { received: true, event: event.id, duplicate: true } };
      if (error instanceof UserError && error.exitCode === ExitCode.conflict && attempt < MAX_DECISION_ATTEMPTS) {
        deps.log?.(`billing ${event.type} ${event.id}: ${error.message}; deciding again`);
        continue;
      }
      return { status: 500, body: { error: 'processing-failed', event: event.id, message: error instanceof Error ? error.message.split('\n')[0] : 'failed' } };
    }
  }
}

async function decideAndApply(deps: BillingWebhookDeps, ledger: BillingLedgerStore, event: BillingEvent): Promise<BillingWebhookResponse> {
  const config = deps.config ?? parseBillingConfig(deps.project.config.billing);
  const seen = await ledger.findProcessed(event.id);
  if (seen) return { status: 200, body: { received: true, event: event.id, duplicate: true, outcome: seen.outcome } };
  const customer = eventCustomer(event);
  const records = await deps.state.listTenants();
  const record = customer ? findTenantByCustomer(records, customer) : undefined;
  let result: Record<string, unknown>;
  if (!record) {
    const reason = customer ? `no tenant has billing customer ${customer}` : 'the event names no customer';
    await deps.state.mutate({ command: COMMAND, action: 'billing.ignored', tenant: null, args: { event: event.id, eventType: event.type, reason } }, (tx) => stageLedger(deps, ledger, tx, event, null, 'ignore'));
    result = { action: 'ignored', reason };
  } else {
    const key = orderingKey(event, customer!);
    const watermark = await ledger.watermark(key);
    const decision = decideBillingEvent({ event, record, watermark, config });
    result = await applyDecision(deps, ledger, event, record, decision, key);
  }
  const due = await dueOffboardingFields(deps);
  deps.log?.(`billing ${event.type} ${event.id}: ${String(result.action)}${result.tenant ? ` ${String(result.tenant)}` : ''}`);
  return { status: 200, body: { received: true, event: event.id, type: event.type, ...result, ...due } };
}
