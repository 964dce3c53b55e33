/**
 * What the billing webhook stands on inside the control-plane function: the aws state over the
 * stage's registry and audit tables, the ledger as guarded items of the same commits, and
 * suspension published to the tenant table's generation item (as `sovereign tenant suspend`
 * does). Clients come from the SDK's default chain (the function's role, `AWS_REGION`,
 * `AWS_ENDPOINT_URL`) unless injected.
 *
 * What the function does not do, deliberately: it has no CloudFormation, S3 or IAM rights, and
 * the project's extension sources are not in it, so it cannot build or deploy a tenant. A plan
 * change records the new tier and answers `redeployed: false` — `sovereign tenant deploy <id>`
 * applies its limits. An offboarding whose grace period is over is reported in the answer and
 * the log (`offboardDue`), for `sovereign tenant offboard <id>` to perform.
 *
 * Failure window: a suspension or resumption commits the record first and then writes the
 * generation item. If that write fails the delivery answers 500 and the sender's retry is a
 * duplicate, so the record says suspended while warm runtimes keep serving; the log line names
 * the tenant, and `sovereign tenant suspend|resume <id>` writes the item again.
 */
import type { BillingHost, BillingLambdaSettings } from '../../billing/lambda.js';
import { projectPaths, type Project } from '../../project.js';
import type { ProjectConfig } from '../../config.js';
import { tenantTableName } from '../../templates/names.js';
import { awsBillingLedger } from './billing-ledger.js';
import { createAwsClients, type AwsClients } from './clients.js';
import { publishGenerationItem } from './secrets-backend.js';
import { openAwsSession } from './session.js';
import { AwsState } from './state.js';

/** How long a delivery waits for a CLI command's project lock before answering 500 (retried). */
export const BILLING_LOCK_WAIT_MS = 8_000;

export interface AwsBillingHostOptions {
  clients?: AwsClients;
  log?: (line: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
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
    publishSuspension: async (record, suspended) => {
      await publishGenerationItem(clients.documents, tenantTableName(record.stage, record.id), [], new Date(now()), { suspended });
      options.log?.(`generation marker of ${record.id} written: ${suspended ? 'suspended' : 'serving'}`);
    },
    redeploy: async (tenant) => ({ redeployed: false, reason: `the tier is recorded; the control-plane function does not deploy tenants: run \`sovereign tenant deploy ${tenant}\` to apply its limits` }),
    dueOffboardings: 'report',
    ...(options.log ? { log: options.log } : {}),
  };
}
