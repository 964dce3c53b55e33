import { userInfo, hostname } from 'node:os';
import { ExitCode, UserError } from '../errors.js';
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

/** The changes a mutation makes, collected while it runs and committed with its audit event. */
export class Transaction {
  /** Local files to write or remove (keys, vaults, data). */
  readonly changes: FileChange[] = [];
  /** Tenant records to store, by id; `null` deletes. */
  readonly tenants = new Map<string, TenantRecord | null>();
  /** Extra arguments for the audit event (references, version ids — never values). */
  readonly eventArgs: Record<string, unknown> = {};

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
