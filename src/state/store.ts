import { userInfo, hostname } from 'node:os';
import { ExitCode, UserError, type UserErrorOptions } from '../errors.js';
import type { Project } from '../project.js';
import { appendEvent, readTail, repairTornTail, type AuditEvent, type NewAuditEvent } from './audit-log.js';
import { applyChanges, recoverJournal, stageChanges, type FileChange } from './journal.js';
import { acquireLock } from './lock.js';
import { listTenants, readTenant, serializeTenant, tenantFile, type TenantRecord } from './registry.js';

/** Who is acting: `user@host` locally (`SOVEREIGN_ACTOR` overrides, e.g. in CI). */
export function localActor(): string {
  if (process.env.SOVEREIGN_ACTOR) return process.env.SOVEREIGN_ACTOR;
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? 'unknown';
  }
  return `${user}@${hostname()}`;
}

/** What a mutation is, for its audit event. */
export interface MutationInfo {
  command: string;
  action: string;
  tenant: string | null;
  args?: Record<string, unknown>;
}

/**
 * A control-plane item a commit writes only if its condition holds, in the same step as the
 * tenant records and the audit event (the aws target puts it in the commit's transaction). It is
 * how a mutation claims something exactly once across processes that do not share a lock: an
 * event id, a watermark that may only move forward.
 */
export interface GuardedItem {
  /** Items of one kind share a partition (aws: `pk = <project>#<partition>`). */
  partition: string;
  key: string;
  attributes: Record<string, unknown>;
  /** `absent`: only when no item has this key; `not-older`: only when the stored `field` is absent or not greater. */
  when: { kind: 'absent' } | { kind: 'not-older'; field: string };
  /** Epoch seconds after which the store may drop the item (aws: the table's TTL attribute). */
  purgeAt?: number;
}

/** A commit refused because a guarded item's condition did not hold; nothing was written (exit 4). */
export class GuardedWriteConflict extends UserError {
  constructor(
    readonly items: GuardedItem[],
    message: string,
    options: UserErrorOptions = {},
  ) {
    super(message, { ...options, exitCode: ExitCode.conflict });
    this.name = 'GuardedWriteConflict';
  }
}

/** The changes a mutation makes, collected while it runs and committed with its audit event. */
export class Transaction {
  /** Local files to write or remove (keys, vaults, data). */
  readonly changes: FileChange[] = [];
  /** Tenant records to store, by id; `null` deletes. */
  readonly tenants = new Map<string, TenantRecord | null>();
  /** Extra arguments for the audit event (references, version ids — never values). */
  readonly eventArgs: Record<string, unknown> = {};
  /** Conditional control-plane items (targets that store them: aws). */
  readonly guarded: GuardedItem[] = [];

  putTenant(record: TenantRecord): void {
    this.tenants.set(record.id, record);
  }

  deleteTenant(id: string): void {
    this.tenants.set(id, null);
  }

  write(path: string, data: string | Uint8Array, mode?: number): void {
    this.changes.push({ kind: 'write', path, data, mode });
  }

  remove(path: string): void {
    this.changes.push({ kind: 'remove', path });
  }

  putGuarded(item: GuardedItem): void {
    this.guarded.push(item);
  }
}

export interface MutateOptions {
  /** Called once recovery of an interrupted command has happened (for a warning line). */
  onRecovered?: (message: string) => void;
}

/**
 * Local state: the tenant registry and audit log in `.sovereign/`. Every mutation runs under the
 * project lock and appends one audit event, success or failure; its file changes land only with
 * a successful event.
 */
/** The registry and audit log of one target; `local` keeps them in `.sovereign/`. */
export interface StateStore {
  readonly actor: string;
  readonly project: Project;
  getTenant(id: string): Promise<TenantRecord | undefined>;
  listTenants(): Promise<TenantRecord[]>;
  /**
   * Runs a mutation under the project lock and records it as one audit event, success or
   * failure (bad input, exit 2, is not recorded: nothing happened). Its changes land only with a
   * successful event.
   */
  mutate<T>(info: MutationInfo, run: (tx: Transaction) => Promise<T> | T, options?: MutateOptions): Promise<T>;
}

export class LocalState implements StateStore {
  readonly actor = localActor();

  constructor(readonly project: Project) {}

  async getTenant(id: string): Promise<TenantRecord | undefined> {
    return readTenant(this.project.paths.tenants, id);
  }

  async listTenants(): Promise<TenantRecord[]> {
    return listTenants(this.project.paths.tenants);
  }

  async mutate<T>(info: MutationInfo, run: (tx: Transaction) => Promise<T> | T, options: MutateOptions = {}): Promise<T> {
    const paths = this.project.paths;
    const lock = await acquireLock(paths.lock, { command: info.command });
    try {
      const recovered = recoverJournal(paths.journal, paths.auditLog, [paths.tenants, paths.keys, paths.vault, paths.state]);
      if (recovered) options.onRecovered?.(recovered);
      const repair = repairTornTail(paths.auditLog, this.actor, info.command);
      if (repair) options.onRecovered?.(`the audit log had a torn last line (${String(repair.args.tornBytes)} bytes) from an interrupted command; cut off and recorded as seq ${repair.seq}`);
      const tx = new Transaction();
      let result: T;
      try {
        result = await run(tx);
      } catch (error) {
        if (!(error instanceof UserError && error.exitCode === ExitCode.badInput)) this.record(info, tx, error);
        throw error;
      }
      // Local state is guarded by the project lock and keeps its ledgers in files (`tx.write`).
      if (tx.guarded.length > 0) throw new Error(`local state does not store guarded items (${tx.guarded.map((g) => g.partition).join(', ')})`);
      const seq = (readTail(paths.auditLog).last?.seq ?? 0) + 1;
      const tenantChanges: FileChange[] = [...tx.tenants].map(([id, record]) =>
        record ? { kind: 'write', path: tenantFile(paths.tenants, id), data: serializeTenant(record) } : { kind: 'remove', path: tenantFile(paths.tenants, id) },
      );
      const entry = stageChanges(paths.journal, seq, [...tenantChanges, ...tx.changes]);
      this.record(info, tx);
      applyChanges(paths.journal, entry);
      return result;
    } finally {
      lock.release();
    }
  }

  private record(info: MutationInfo, tx: Transaction, error?: unknown): AuditEvent {
    return appendEvent(this.project.paths.auditLog, mutationEvent(this.actor, info, tx, error));
  }
}

/** The audit event of a mutation, success or failure (every target records the same). */
export function mutationEvent(actor: string, info: MutationInfo, tx: Transaction, error?: unknown): NewAuditEvent {
  return {
    actor,
    command: info.command,
    tenant: info.tenant,
    action: info.action,
    args: { ...info.args, ...tx.eventArgs },
    outcome: error ? 'failure' : 'success',
    ...(error ? { error: error instanceof Error ? error.message : String(error) } : {}),
  };
}
