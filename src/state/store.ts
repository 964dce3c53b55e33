import { userInfo, hostname } from 'node:os';
import { ExitCode, UserError, type UserErrorOptions } from '../errors.js';
import type { Project } from '../project.js';
import type { KeyObject } from 'node:crypto';
import type { Checkpoint } from '../audit/checkpoint.js';
import type { TrailVerification } from '../audit/trail.js';
import type { NewAuditEvent } from './audit-log.js';
import type { TenantRecord } from './registry.js';

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

/** One file change of a mutation (the local target's journal stages these). */
export type FileChange =
  | { kind: 'write'; path: string; data: string | Uint8Array; mode?: number }
  | { kind: 'remove'; path: string };

/**
 * A change to a tenant's generation marker: the references that changed (their cached copies are
 * refetched) and, when it changes, whether the tenant is suspended.
 */
export interface GenerationChange {
  references: string[];
  suspended?: boolean;
}

/**
 * An item of a tenant's own table that a commit writes in the same step as its audit event
 * (targets that keep tenant tables: aws, in the commit's transaction). A put only creates (the
 * item must be absent), a delete only removes an item that is there; otherwise nothing is written.
 */
export interface TenantItemChange {
  tenant: string;
  kind: 'put' | 'delete';
  /** put: the whole item; delete: its key (`pk`, `sk`). */
  item: Record<string, unknown>;
}

/** The generation a commit gave a marker change; `null` until committed, or where it was not published. */
export interface GenerationTicket {
  readonly tenant: string;
  generation: number | null;
}

/**
 * The changes a mutation makes, as intents: collected while it runs, turned into files (local)
 * or items (aws) by the target's commit, together with its audit event. A mutation never writes
 * state itself; that is what lets each target make "the change and its event, or neither" hold.
 */
export class Transaction {
  /** Files to write or remove (local: inside `.sovereign/`, journaled; outputs elsewhere first). */
  readonly changes: FileChange[] = [];
  /** Tenant records to store, by id; `null` deletes. */
  readonly tenants = new Map<string, TenantRecord | null>();
  /** Extra arguments for the audit event (references, version ids — never values). */
  readonly eventArgs: Record<string, unknown> = {};
  /** Conditional control-plane items (targets that store them: aws). */
  readonly guarded: GuardedItem[] = [];
  /** Generation marker changes per tenant, merged; each target's commit publishes them. */
  readonly generations = new Map<string, { change: GenerationChange; ticket: GenerationTicket; audit: boolean }>();
  /** Tenants whose own key and vault the commit creates (where the target keeps them). */
  readonly provisioned = new Map<string, { stage: string }>();
  /** Tenants whose key, vault and data the commit removes (where the target keeps them). */
  readonly unprovisioned = new Set<string>();
  /** The generation each tenant's vault is written at by this commit (where the target keeps vaults). */
  readonly vaultGenerations = new Map<string, number>();
  /** Items of tenants' own tables (targets that keep them: aws). */
  readonly tenantItems: TenantItemChange[] = [];

  putTenant(record: TenantRecord): void {
    this.tenants.set(record.id, record);
  }

  deleteTenant(id: string): void {
    this.tenants.set(id, null);
  }

  /** Writes `path` with the commit; a later write of the same path replaces an earlier one. */
  write(path: string, data: string | Uint8Array, mode?: number): void {
    const earlier = this.changes.findIndex((change) => change.path === path);
    if (earlier !== -1) this.changes.splice(earlier, 1);
    this.changes.push({ kind: 'write', path, data, mode });
  }

  remove(path: string): void {
    this.changes.push({ kind: 'remove', path });
  }

  putGuarded(item: GuardedItem): void {
    this.guarded.push(item);
  }

  /** Creates an item in the tenant's own table with the commit (only if no item has its key). */
  putTenantItem(tenant: string, item: Record<string, unknown>): void {
    this.tenantItems.push({ tenant, kind: 'put', item });
  }

  /** Deletes an item of the tenant's own table with the commit (only if it is there). */
  deleteTenantItem(tenant: string, key: { pk: string; sk: string }): void {
    this.tenantItems.push({ tenant, kind: 'delete', item: key });
  }

  /**
   * Moves the tenant's generation marker on: its runtime refetches `references` and obeys
   * `suspended` within about a second. `audit` records the new generation in the event.
   */
  bumpGeneration(tenant: string, change: GenerationChange, options: { audit?: boolean } = {}): GenerationTicket {
    const known = this.generations.get(tenant);
    if (known) {
      known.change = {
        references: [...new Set([...known.change.references, ...change.references])],
        ...(change.suspended !== undefined ? { suspended: change.suspended } : known.change.suspended !== undefined ? { suspended: known.change.suspended } : {}),
      };
      known.audit ||= options.audit === true;
      return known.ticket;
    }
    const ticket: GenerationTicket = { tenant, generation: null };
    this.generations.set(tenant, { change, ticket, audit: options.audit === true });
    return ticket;
  }

  /** Creates the tenant's own vault key and vault (seeded with its webhook signing secret). */
  provisionTenant(tenant: string, stage: string): void {
    this.provisioned.set(tenant, { stage });
  }

  /**
   * Records that the commit writes the tenant's vault at `generation`: the commit stores it in the
   * tenant's record and the audit event, so an older copy of the vault put back is refused.
   */
  recordVaultGeneration(tenant: string, generation: number): void {
    this.vaultGenerations.set(tenant, Math.max(generation, this.vaultGenerations.get(tenant) ?? 0));
  }

  /** Removes the tenant's key, vault and data. */
  unprovisionTenant(tenant: string): void {
    this.unprovisioned.add(tenant);
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
  /** Mutations of one store (one project's files, one control-plane table) share this key in a process (default: the store itself). */
  readonly serialKey?: unknown;
  getTenant(id: string): Promise<TenantRecord | undefined>;
  listTenants(): Promise<TenantRecord[]>;
  /**
   * Runs a mutation under the project lock and records it as one audit event, success or
   * failure (bad input, exit 2, is not recorded: nothing happened). Its changes land only with a
   * successful event.
   */
  mutate<T>(info: MutationInfo, run: (tx: Transaction) => Promise<T> | T, options?: MutateOptions): Promise<T>;
  /** `audit log --verify`: the log against its signed checkpoints, wherever this target keeps them. */
  verifyAuditTrail(): Promise<TrailVerification>;
  /** The signed checkpoint at the log's head and the key that signed it (for `audit export`), if there is one. */
  headCheckpoint(): Promise<HeadCheckpoint | undefined>;
}

/** A signed checkpoint and the public key it verifies with. */
export interface HeadCheckpoint {
  checkpoint: Checkpoint;
  publicKey: KeyObject;
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
