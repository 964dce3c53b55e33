/**
 * What a target is: where a project's tenants run and where their state lives. `local` (files in
 * `.sovereign/`, `sovereign dev`) and `aws` (control-plane tables, one CloudFormation stack per
 * tenant) implement this one interface; the project picks one once (`ctx.target()`), and no
 * command or service asks which one it got.
 *
 * Each capability below is what the commands need, stated in the commands' terms: a target that
 * has nothing to do for one (local has no regional quotas below 400 tenants) answers with nothing,
 * it does not make the caller branch.
 */
import type { AuditEvidenceKind } from '../audit/manifest.js';
import type { Tier } from '../config.js';
import { RUNTIME_DEFAULTS } from '../contract/runtime-environment.js';
import type { OffboardTarget } from '../lifecycle/offboard.js';
import type { Output } from '../output/output.js';
import type { Project } from '../project.js';
import type { SecretStore } from '../secrets/store.js';
import type { TenantRecord } from '../state/registry.js';
import type { StateStore, Transaction } from '../state/store.js';
import type { ApiKeyRecord } from '../contract/api-keys.js';
import type { TelemetrySource } from '../telemetry/source.js';
import type { TenantBuild } from '../fleet/tenant-build.js';
import type { TenantDiff } from './diff.js';
import type { IsolationMatrix } from '../isolation/matrix.js';
import type { ScheduledEvent } from '../contract/schedules.js';
import type { ScheduleRunResult } from '../runtime/schedule.js';
import type { CellQuotas } from '../fleet/placement.js';
import type { DoctorCheck, DoctorOptions } from '../doctor/check.js';

/** How often the runtime reads its generation marker by default (`SOVEREIGN_GENERATION_INTERVAL_MS`). */
export const DEFAULT_PICKUP_MS = RUNTIME_DEFAULTS.generationIntervalMs;

export { TARGET_NAMES, type TargetName } from './names.js';
import type { TargetName } from './names.js';

/** What a target takes from the command that opened it. */
export interface TargetHost {
  /** The project around `--cwd` (throws exit 3 when there is none). */
  project(): Project;
  /** The resolved global options the target reads (stage, region, profile, endpoint). */
  globals: { stage: string; region: string | undefined; profile: string | undefined; endpointUrl: string | undefined };
  out: Output;
  /** Asks before a destructive step (see `CommandContext.confirm`). */
  confirm(question: string): Promise<boolean>;
}

/** Builds and deploys one tenant; `tenant deploy` runs it per tenant of a fleet plan. */
export type DeployOne = (id: string) => Promise<{ artifact: string }>;

export interface DestroyRequest {
  tenant: string;
  /** Export the tenant's table to this folder before deleting anything (where the target has one to export). */
  exportData?: string;
  /** Lift the table's deletion protection (where the target has one). */
  forceDeleteTable: boolean;
}

export interface DestroyOutcome {
  record: TenantRecord;
  /** The stack deleted, where the target has stacks. */
  stack: string | null;
  existed: boolean;
  exported: { path: string; items: number } | null;
}

/** A warning before a tenant pushes the fleet past a quota of the target's. */
export interface ScaleNotice {
  message: string;
}

/**
 * How the runtime hears of a changed secret. The generation marker lands with the change (see
 * `Transaction.bumpGeneration`); this tells the running environments at once where the target can.
 */
export interface RuntimeNotice {
  generation: number | null;
  webhook: WebhookDelivery | null;
  /** One line for people: acknowledged in N ms, or when the runtime picks it up. */
  summary: string;
}

/** What happened to a signed rotation notice sent to a running tenant. */
export interface WebhookDelivery {
  delivered: boolean;
  /** The runtime answered 2xx. */
  acknowledged: boolean;
  status?: number;
  /** How many cached entries the runtime dropped. */
  invalidated?: number;
  /** From sending to the runtime's answer. */
  propagationMs?: number;
  /** Why it was not acknowledged (no values). */
  reason?: string;
}

/** What the `secrets` service takes from a target. */
export interface SecretsPlumbing {
  /** The store holding a tenant's values. */
  storeFor(tenant: TenantRecord): Promise<SecretStore>;
  /** Tells the tenant's running environments that `targets` changed, after the change is committed. */
  notifyRuntime(tenant: TenantRecord, targets: string[], generation: number | null): Promise<RuntimeNotice>;
}

/** Where rotation metadata comes from for an audit bundle; `unavailable` says why there is none. */
export interface SecretMetadataSource {
  backend(tenant: string | { id: string }): SecretStore | undefined;
  unavailable?: string;
}

/**
 * Where a target keeps a tenant's API key records (see `contract/api-keys.ts`): reads, and the
 * changes a `tenant keys` mutation stages in its transaction so they land with its audit event.
 */
export interface ApiKeyStore {
  /** The tenant's key records, as stored now (read under the mutation's lock when it runs in one). */
  records(tenant: TenantRecord): Promise<ApiKeyRecord[]>;
  /**
   * When each key was last used, by key id, as the tenant's runtime records it. A hint for
   * people: the tenant's own code can write it, so nothing is decided on it, and a record that
   * cannot be read is no record.
   */
  lastUsed(tenant: TenantRecord): Promise<Record<string, string>>;
  /** Stages a new key's record; `current` are the records read in the same mutation. */
  stageCreate(tx: Transaction, tenant: TenantRecord, record: ApiKeyRecord, current: ApiKeyRecord[]): void;
  /** Stages the removal of a key's record; `current` are the records read in the same mutation. */
  stageRevoke(tx: Transaction, tenant: TenantRecord, record: ApiKeyRecord, current: ApiKeyRecord[]): void;
}

/** One schedule run now (`tenant run`): the function's answer and where it ran. */
export interface ScheduleRunOutcome {
  /** E.g. `sovereign dev on port 4000` or `Lambda sovereign-prod-acme`. */
  via: string;
  /** The runtime's answer; `failed` also when the function itself failed (a crash, a timeout). */
  run: ScheduleRunResult;
}

/** Where `tenant create` is asked to put a tenant (`--cell`, `--residency`) and what it takes. */
export interface TenantPlacement {
  tenant: string;
  tier: Tier;
  /** HTTP APIs of its stack (two with the machine API). */
  httpApis: number;
  cell?: string | undefined;
  residency?: string | undefined;
}

/** One cell of `cells list`: its tenants, and its quotas against what is counted in it. */
export interface CellReport {
  name: string;
  account: string;
  region: string;
  residency: string | null;
  tenants: string[];
  capacity: CellQuotas;
  used: CellQuotas;
  /** Each quota's share in use (the usable share: Lambda keeps 100 unreserved), and the fullest. */
  utilisation: CellQuotas & { max: number };
  /** Where each figure comes from (an API call in the cell, or the registry). */
  countedFrom: Record<keyof CellQuotas, string>;
}

export interface Target {
  readonly name: TargetName;
  /** The tenant registry, the audit log and the lock. */
  state(): StateStore;
  /** A deployer for `tenant deploy` and `tenant create` (`command` names the audit event). */
  deployer(options: { log: (tenant: string, line: string) => void; command?: string }): Promise<DeployOne>;
  /** Refuses a fleet plan the target cannot deploy as asked (e.g. tenants of another stage). */
  checkDeployPlan(records: TenantRecord[]): void;
  /**
   * The cell (an account and region of its own) a tenant is deployed in, or undefined for the
   * project's home account and region. A target that has cells defines it, and `tenant deploy`
   * then deploys the cells side by side, each with its own concurrency.
   */
  cellOf?(record: TenantRecord): string | undefined;
  /** What `tenant deploy` would change for `record`, given the build it would deploy. */
  diff(record: TenantRecord, build: TenantBuild): Promise<TenantDiff>;
  /** What destroying a tenant deletes, for the confirmation question. */
  readonly destroys: string;
  /**
   * What a new tenant's first deploy asks to confirm (its IAM), or undefined when it asks
   * nothing: `tenant create` refuses before it writes anything when it could not ask.
   */
  readonly firstDeployAsks: string | undefined;
  /** Removes a tenant and everything the target holds of it; the audit log keeps its history. */
  destroy(request: DestroyRequest): Promise<DestroyOutcome>;
  /** The secrets service's backend and runtime notice; `mutating` prints where it writes first. */
  secrets(options: { mutating: boolean }): Promise<SecretsPlumbing>;
  /** What an audit bundle exported from this target is evidence of (its signed manifest and report say it). */
  readonly auditEvidence: AuditEvidenceKind;
  /** Rotation metadata for evidence bundles. */
  secretMetadata(): Promise<SecretMetadataSource>;
  /** Where the tenants' API key records are kept. */
  apiKeys(): Promise<ApiKeyStore>;
  /** Figures, health and logs of the target's tenants. */
  telemetry(): TelemetrySource;
  /** Where offboarding exports, releases and destroys a tenant. */
  offboarding(options: { forceDeleteTable: boolean }): Promise<OffboardTarget>;
  /**
   * Warnings before the fleet grows to `tiers` (one tier per tenant, the new one included) and
   * `httpApis` HTTP APIs (a tenant taking API keys has two: its machine API).
   */
  scaleWarnings(fleet: { tiers: Tier[]; httpApis: number }): Promise<ScaleNotice[]>;
  /** Evaluates every request a tenant's runtime could make against every other tenant's resources. */
  isolation(records: TenantRecord[], options: { only?: string }): Promise<IsolationMatrix>;
  /**
   * Runs one of the tenant's schedules now: invokes the tenant's function with `event`, the event
   * its schedule sends (on aws the function itself; on local the running `sovereign dev`).
   */
  runSchedule(tenant: TenantRecord, event: ScheduledEvent): Promise<ScheduleRunOutcome>;
  /**
   * The cell a new tenant goes to (recorded in its record), or undefined for a target or project
   * without cells; refuses `--cell` and `--residency` where there are none to honour them.
   */
  placement(request: TenantPlacement): Promise<TenantRecord['cell']>;
  /** The project's cells with their tenants and utilisation; refused where there are none. */
  cells(): Promise<{ cells: CellReport[]; home: string[] }>;
  /** Refuses commands that serve tenants on this machine where the target runs them elsewhere. */
  assertServesLocally(command: string): void;
  /**
   * The target's own checks for `sovereign doctor`: where its state lives (a lock, a journal),
   * what serving tenants needs of this machine, its cloud account. Read only.
   */
  doctor(options: DoctorOptions): Promise<DoctorCheck[]>;
}
