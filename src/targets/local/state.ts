/**
 * The local target's state: the tenant registry and audit log in `.sovereign/`. Every mutation
 * runs under the project lock and appends one audit event, success or failure. Its intents
 * (tenant records, generation markers, a tenant's key and vault, files) become file changes that
 * are staged and journaled before the event is appended and renamed into place after it, so a
 * crash at any instruction leaves the project as if the command never ran or as if it completed
 * (see `journal.ts`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { OtherStageError } from '../../errors.js';
import type { Project } from '../../project.js';
import type { TenantRecord } from '../../state/registry.js';
import { listTenants, readTenant } from './registry.js';
import type { TrailVerification } from '../../audit/trail.js';
import { localActor, type HeadCheckpoint, type MutateOptions, type MutationInfo, type StateStore, type Transaction } from '../../state/store.js';

/** The mutation running in this async context, with the state folder it commits to. */
const running = new AsyncLocalStorage<{ stateDir: string; tx: Transaction }>();

/** Where a committing mutation runs its transaction, so `runningTransaction` finds it. */
export type MutationContext = typeof running;

/**
 * The transaction of the mutation that is running (in this async context) on the project whose
 * state folder is `stateDir`, if any. The local secret store stages its vault writes into it, so
 * they land in the mutation's journaled commit with its audit event.
 */
export function runningTransaction(stateDir: string): Transaction | undefined {
  const current = running.getStore();
  return current && current.stateDir === stateDir ? current.tx : undefined;
}

export class LocalState implements StateStore {
  readonly actor = localActor();

  /**
   * With `stage`, the state of that stage only (the command's `--stage`): other stages' tenants
   * are not listed, and naming one is refused. Local tenants of every stage share the project's
   * `.sovereign` folder, so a tenant id is taken in all of them.
   */
  constructor(
    readonly project: Project,
    private readonly options: { stage?: string } = {},
  ) {}

  async getTenant(id: string): Promise<TenantRecord | undefined> {
    const record = readTenant(this.project.paths.tenants, id);
    const stage = this.options.stage;
    if (record !== undefined && stage !== undefined && record.stage !== stage) {
      throw new OtherStageError(id, record.stage, stage);
    }
    return record;
  }

  async listTenants(): Promise<TenantRecord[]> {
    const all = listTenants(this.project.paths.tenants);
    const stage = this.options.stage;
    return stage === undefined ? all : all.filter((record) => record.stage === stage);
  }

  /** The key under which concurrent mutations of this project are serialised in one process. */
  get serialKey(): string {
    return this.project.root;
  }

  /** Runs `run` under the project lock and commits its intents (`commit.ts`, loaded on first use). */
  async mutate<T>(info: MutationInfo, run: (tx: Transaction) => Promise<T> | T, options: MutateOptions = {}): Promise<T> {
    const { commitMutation } = await import('./commit.js');
    return commitMutation(this.project, this.actor, running, info, run, options);
  }

  /** The log against `.sovereign/audit/checkpoint.json` and its history, signed by the project key (or `audit.trustedKeys`). */
  async verifyAuditTrail(): Promise<TrailVerification> {
    const { localCheckpointKeys, verifyTrail } = await import('../../audit/trail.js');
    const paths = this.project.paths;
    return verifyTrail({ logPath: paths.auditLog, trustedKeys: localCheckpointKeys(this.project), journalPath: paths.journal });
  }

  /** `.sovereign/audit/checkpoint.json`, signed by the project key. */
  async headCheckpoint(): Promise<HeadCheckpoint | undefined> {
    const [{ checkpointPaths, readLatestCheckpoint }, { loadOrCreateSigningKey }] = await Promise.all([import('../../audit/checkpoint-files.js'), import('../../audit/signing.js')]);
    const latest = readLatestCheckpoint(checkpointPaths(this.project.paths.auditLog).latest);
    return latest.state === 'present' ? { checkpoint: latest.checkpoint, publicKey: loadOrCreateSigningKey(this.project.paths.keys).publicKey } : undefined;
  }
}
