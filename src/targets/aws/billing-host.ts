/**
 * What the billing webhook stands on inside the control-plane function: the aws state over the
 * stage's registry and audit tables, the ledger as guarded items of the same commits, and
 * suspension published to the tenant table's generation item (as `sovereign tenant suspend`
 * does). Clients come from the SDK's default chain (the function's role, `AWS_REGION`,
 * `AWS_ENDPOINT_URL`) unless injected.
 *
 * A plan change records the new tier, then applies its limits to the tenant's deployed stack
 * (`retier.ts`): the stack's own template with only the tier's values rewritten, through a change
 * set, within `BILLING_REDEPLOY_WAIT_MS`. The answer says `redeployed: true` with `redeploy:
 * 'complete' | 'unchanged' | 'in-progress'` (the last with the change set CloudFormation is
 * executing), or `redeployed: false` with the reason (no stack, a busy or foreign stack, a failed
 * update) — the tier stays recorded and `sovereign tenant deploy <id>` applies it. The function
 * holds no extension sources and no S3 or IAM rights: it re-tiers, it never builds or deploys new
 * code. An offboarding whose grace period is over is reported in the answer and the log
 * (`offboardDue`), for `sovereign tenant offboard --due` (run on a schedule by the operator's
 * pipeline, docs/aws.md) to perform.
 *
 * Failure window: a suspension or resumption commits the record first and then writes the
 * generation item. If that write fails the delivery answers 500 and the sender's retry is a
 * duplicate, so the record says suspended while warm runtimes keep serving; the log line names
 * the tenant, and `sovereign tenant suspend|resume <id>` writes the item again.
 */
import type { BillingHost, BillingLambdaSettings } from '../../billing/lambda.js';
import { projectPaths, type Project } from '../../project.js';
import type { ProjectConfig } from '../../config.js';
import { awsBillingLedger } from './billing-ledger.js';
import { createAwsClients, type AwsClients } from './clients.js';
import { refusesTraffic } from '../../lifecycle/apply.js';
import { openAwsSession } from './session.js';
import { AwsState } from './state.js';

/** How long a delivery waits for a CLI command's project lock before answering 500 (retried). */
export const BILLING_LOCK_WAIT_MS = 8_000;

/**
 * How long a plan change waits for its re-tiering before answering `in-progress`. With the lock
 * wait it stays inside the function's 30 s timeout; senders wait 10–30 s for an answer.
 */
export const BILLING_REDEPLOY_WAIT_MS = 12_000;

export interface AwsBillingHostOptions {
  clients?: AwsClients;
  log?: (line: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Budget of a re-tiering (default `BILLING_REDEPLOY_WAIT_MS`). */
  redeployWaitMs?: number;
}

/** The project as the function knows it: name, stage and billing config; no files. */
export function controlPlaneProject(settings: BillingLambdaSettings): Project {
  const root = `/sovereign/${settings.project}/${settings.stage}`;
  const config = { project: settings.project, target: 'aws', stage: settings.stage, extensionsDir: 'extensions', defaults: { tier: 'basic', extensions: [] }, dev: { port: 4000 } } satisfies ProjectConfig;
  return { root, config, paths: projectPaths(root) };
}

export function createAwsBillingHost(settings: BillingLambdaSettings, options: AwsBillingHostOptions = {}): BillingHost {
  const clients = options.clients ?? createAwsClients({});
  const now = options.now ?? Date.now;
  const session = openAwsSession({ project: settings.project, stage: settings.stage, clients, now, ...(options.sleep ? { sleep: options.sleep } : {}) });
  const project = controlPlaneProject(settings);
  const state = new AwsState(project, { session, lockWaitMs: BILLING_LOCK_WAIT_MS, now, ...(options.sleep ? { sleep: options.sleep } : {}), ...(options.log ? { log: options.log } : {}) });
  return {
    state,
    project,
    target: 'aws',
    config: settings.config,
    ledger: awsBillingLedger(state, { now }),
    now,
    redeploy: async (tenant) => {
      const record = await state.getTenant(tenant);
      if (!record) return { redeployed: false, reason: `tenant ${tenant} is not registered` };
      const { retierTenantStack } = await import('./retier.js');
      return retierTenantStack({
        cfn: clients.cloudformation,
        now,
        ...(options.sleep ? { sleep: options.sleep } : {}),
        pollMs: 2_000,
        project: settings.project,
        stage: settings.stage,
        tenant,
        tier: record.tier,
        suspended: refusesTraffic(record.status),
        waitMs: options.redeployWaitMs ?? BILLING_REDEPLOY_WAIT_MS,
        ...(options.log ? { log: options.log, onThrottled: options.log } : {}),
      });
    },
    dueOffboardings: 'report',
    ...(options.log ? { log: options.log } : {}),
  };
}
