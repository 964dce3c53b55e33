/**
 * State on aws: the tenant registry and the audit events live in the control-plane tables that
 * `sovereign bootstrap` creates; the actor is the STS caller ARN.
 *
 * Items (both tables have a string `pk` hash key and a string `sk` range key):
 * - tenant: `pk = <project>#tenant`, `sk = <id>`, `version` (optimistic concurrency), `record`;
 * - lock:   `pk = <project>#lock`, `sk = project`, `owner`, `command`, `expiresAt` (epoch s);
 * - event:  `pk = <project>#audit`, `sk = <seq, 12 digits>`, `seq`, `tenant`, `hash`, `event` (JSON);
 * - guarded: `pk = <project>#<partition>`, `sk = <key>`, the item's attributes, `purgeAt` (epoch s,
 *   the registry table's TTL attribute) when the item expires.
 *
 * A mutation takes the lock, runs, then writes its tenant items (each conditional on the version
 * it read), its guarded items (each under its own condition), the items of tenants' own tables it
 * staged (API key records: a put only where none is, a delete only of what is there) and its
 * audit event (conditional on its `seq` being free) in one transaction, so two writers never fork
 * the chain, a record never changes without its event, and a guarded claim (a billing event id)
 * lands with the change it guards or not at all — even from a process whose lock expired.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ExitCode, UserError, conflict } from '../../errors.js';
import type { Project } from '../../project.js';
import { buildEvent, chainLinkProblem, GENESIS_HASH, type AuditEvent, type NewAuditEvent } from '../../state/audit-log.js';
import type { TenantRecord } from '../../state/registry.js';
import { GuardedWriteConflict, mutationEvent, Transaction, type GuardedItem, type HeadCheckpoint, type MutateOptions, type MutationInfo, type StateStore, type TenantItemChange } from '../../state/store.js';
import { auditTableName, tenantRegistryTableName, tenantTableName } from '../../templates/names.js';
import { awsFailure, realSleep, withBackoff, type Sleep } from './errors.js';
import { openAwsSession, type AwsSession } from './session.js';
import { checkpointSignedBy, DEFAULT_CHECKPOINT_RETENTION_DAYS, keyFingerprint, type Checkpoint } from '../../audit/checkpoint.js';
import type { TrailVerification } from '../../audit/trail.js';
import { openCheckpointAnchor, type AwsCheckpointAnchor } from './checkpoints.js';
import { API_KEYS_GENERATION_REFERENCE } from '../../contract/api-keys.js';

export interface AwsStateOptions {
  session: AwsSession;
  /** How long a lock lives without a heartbeat (default 5 min); renewed every third of that. */
  lockTtlMs?: number;
  /** How long to wait for another command's lock (default `SOVEREIGN_LOCK_WAIT_MS` or 30 s). */
  lockWaitMs?: number;
  /** Notes for the user (e.g. local file changes that do not apply on aws). */
  log?: (message: string) => void;
  /** Warnings (a generation marker that could not be published). */
  warn?: (message: string) => void;
  sleep?: Sleep;
  now?: () => number;
  /** The session of a tenant's own resources (its cell's: table, function); the state's session otherwise. */
  sessionForTenant?: (record: TenantRecord) => AwsSession;
  /**
   * The audit anchor (KMS-signed checkpoints under S3 Object Lock), opened on first use; each
   * committed event gets its checkpoint. Without it (tests of the table alone) none is written.
   */
  checkpoints?: () => Promise<AwsCheckpointAnchor>;
}

/** `000000000042`: sorts as the number does. */
export function seqKey(seq: number): string {
  return String(seq).padStart(12, '0');
}

const MAX_COMMIT_ATTEMPTS = 6;

interface VersionedRecord {
  record: TenantRecord;
  version: number;
}

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/** Which items of a cancelled transaction failed their condition. */
function cancelledIndexes(error: unknown): number[] | undefined {
  const e = error as { name?: string; CancellationReasons?: Array<{ Code?: string }> };
  if (e?.name !== 'TransactionCanceledException') return undefined;
  return (e.CancellationReasons ?? []).flatMap((reason, i) => (reason.Code === 'ConditionalCheckFailed' ? [i] : []));
}

export class AwsState implements StateStore {
  readonly project: Project;
  private readonly session: AwsSession;
  private readonly documents: DynamoDBDocumentClient;
  private readonly tenants: string;
  private readonly audit: string;
  private readonly options: AwsStateOptions;
  private resolvedActor: string | undefined;
  /** Versions read during the running mutation, for its conditional writes. */
  private versions = new Map<string, number>();

  constructor(project: Project, options: AwsStateOptions) {
    this.project = project;
    this.options = options;
    this.session = options.session;
    this.documents = options.session.clients.documents;
    this.tenants = tenantRegistryTableName(options.session.stage);
    this.audit = auditTableName(options.session.stage);
  }

  /** The STS caller ARN; known once a mutation has started (or after `resolveActor`). */
  get actor(): string {
    if (this.resolvedActor === undefined) throw new Error('the aws actor is known only once a mutation has started (call resolveActor first)');
    return this.resolvedActor;
  }

  async resolveActor(): Promise<string> {
    this.resolvedActor ??= (await this.session.identity()).arn;
    return this.resolvedActor;
  }

  private get pk() {
    const name = this.project.config.project;
    return { tenant: `${name}#tenant`, lock: `${name}#lock`, audit: `${name}#audit` };
  }

  /** One DynamoDB call with backoff; missing tables, credentials and AccessDenied become user errors. */
  private async call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withBackoff(fn, { sleep: this.options.sleep ?? realSleep });
    } catch (error) {
      if ((error as { name?: string })?.name === 'ResourceNotFoundException') {
        throw new UserError(`the control-plane tables of stage "${this.session.stage}" do not exist in this account and region`, {
          exitCode: ExitCode.notFound,
          hint: 'run `sovereign bootstrap` once per stage, account and region',
          cause: error,
        });
      }
      // Conditional failures are decided by the caller; anything else is explained here.
      const name = (error as { name?: string })?.name;
      if (name === 'ConditionalCheckFailedException' || name === 'TransactionCanceledException') throw error;
      throw awsFailure(error, doing);
    }
  }

  private async readTenant(id: string): Promise<VersionedRecord | undefined> {
    const answer = await this.call(`reading tenant ${id}`, () =>
      this.documents.send(new GetCommand({ TableName: this.tenants, Key: { pk: this.pk.tenant, sk: id }, ConsistentRead: true })),
    );
    if (!answer.Item) return undefined;
    return { record: answer.Item.record as TenantRecord, version: Number(answer.Item.version) };
  }

  async getTenant(id: string): Promise<TenantRecord | undefined> {
    const found = await this.readTenant(id);
    if (found) this.versions.set(id, found.version);
    else this.versions.set(id, 0);
    return found?.record;
  }

  async listTenants(): Promise<TenantRecord[]> {
    const records: TenantRecord[] = [];
    for await (const item of this.queryPartition(this.tenants, this.pk.tenant, 'listing tenants')) {
      records.push(item.record as TenantRecord);
      this.versions.set(item.sk as string, Number(item.version));
    }
    return records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Every item of one partition, page by page, with consistent reads. */
  private async *queryPartition(table: string, pk: string, what: string): AsyncGenerator<Record<string, unknown>> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.call(what, () =>
        this.documents.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      yield* page.Items ?? [];
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /** A guarded item written by an earlier commit (consistent read), without its keys. */
  async getGuarded(partition: string, key: string): Promise<Record<string, unknown> | undefined> {
    const answer = await this.call(`reading ${partition} ${key}`, () =>
      this.documents.send(new GetCommand({ TableName: this.tenants, Key: { pk: `${this.project.config.project}#${partition}`, sk: key }, ConsistentRead: true })),
    );
    if (!answer.Item) return undefined;
    const { pk: _pk, sk: _sk, ...attributes } = answer.Item;
    return attributes;
  }

  private guardedPut(item: GuardedItem) {
    const Item = { ...item.attributes, pk: `${this.project.config.project}#${item.partition}`, sk: item.key, ...(item.purgeAt === undefined ? {} : { purgeAt: item.purgeAt }) };
    if (item.when.kind === 'absent') return { TableName: this.tenants, Item, ConditionExpression: 'attribute_not_exists(pk)' };
    return {
      TableName: this.tenants,
      Item,
      ConditionExpression: 'attribute_not_exists(pk) OR #field <= :value',
      ExpressionAttributeNames: { '#field': item.when.field },
      ExpressionAttributeValues: { ':value': item.attributes[item.when.field] },
    };
  }

  /**
   * A tenant-table item of the transaction: the tenant's own table (same account and region as
   * the control plane, so one transaction holds both); a put only creates, a delete only removes.
   */
  private tenantTableWrite(change: TenantItemChange) {
    const TableName = tenantTableName(this.session.stage, change.tenant);
    if (change.kind === 'put') return { Put: { TableName, Item: change.item, ConditionExpression: 'attribute_not_exists(sk)' } };
    return { Delete: { TableName, Key: { pk: change.item.pk, sk: change.item.sk }, ConditionExpression: 'attribute_exists(sk)' } };
  }

  /** The last audit event, or undefined for an empty chain. */
  async lastEvent(): Promise<AuditEvent | undefined> {
    const page = await this.call('reading the audit chain', () =>
      this.documents.send(
        new QueryCommand({
          TableName: this.audit,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': this.pk.audit },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
      ),
    );
    const item = page.Items?.[0];
    return item ? (JSON.parse(item.event as string) as AuditEvent) : undefined;
  }

  /** Every audit event in order (paginated), optionally of one tenant. */
  async *events(filter: { tenant?: string } = {}): AsyncGenerator<AuditEvent> {
    for await (const item of this.queryPartition(this.audit, this.pk.audit, 'reading the audit chain')) {
      const event = JSON.parse(item.event as string) as AuditEvent;
      if (filter.tenant === undefined || event.tenant === filter.tenant) yield event;
    }
  }

  private buildEvent(previous: AuditEvent | undefined, input: NewAuditEvent): AuditEvent {
    return buildEvent(previous, { ...input, time: input.time ?? new Date((this.options.now ?? Date.now)()).toISOString() });
  }

  private eventItem(event: AuditEvent) {
    return {
      TableName: this.audit,
      Item: { pk: this.pk.audit, sk: seqKey(event.seq), seq: event.seq, tenant: event.tenant ?? '-', hash: event.hash, event: JSON.stringify(event) },
      ConditionExpression: 'attribute_not_exists(sk)',
    };
  }

  /** The project lock as an item: taken when absent or expired; renewed while held. */
  private async acquireLock(command: string): Promise<{ release(): Promise<void> }> {
    const now = this.options.now ?? Date.now;
    const sleep = this.options.sleep ?? realSleep;
    const ttl = this.options.lockTtlMs ?? 5 * 60 * 1000;
    const waitMs = this.options.lockWaitMs ?? Number(process.env.SOVEREIGN_LOCK_WAIT_MS ?? 30_000);
    const owner = `${this.resolvedActor ?? 'unknown'} ${hostname()} ${process.pid} ${randomUUID()}`;
    const key = { pk: this.pk.lock, sk: 'project' };
    const deadline = now() + waitMs;
    let delay = 100;
    for (;;) {
      const expiresAt = Math.floor((now() + ttl) / 1000);
      try {
        await this.call('taking the project lock', () =>
          this.documents.send(
            new PutCommand({
              TableName: this.tenants,
              Item: { ...key, owner, command, since: new Date(now()).toISOString(), expiresAt },
              ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
              ExpressionAttributeValues: { ':now': Math.floor(now() / 1000) },
            }),
          ),
        );
        break;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        if (now() >= deadline) {
          const holder = await this.call('reading the project lock', () => this.documents.send(new GetCommand({ TableName: this.tenants, Key: key, ConsistentRead: true })));
          const item = holder.Item ?? {};
          throw conflict(
            `the project is locked by \`${String(item.command ?? '?')}\` (${String(item.owner ?? '?').split(' ').slice(0, 2).join(' on ')}, since ${String(item.since ?? '?')})`,
            'wait for it to finish and try again; a lock whose holder died expires by itself within minutes',
          );
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 2000);
      }
    }
    let released = false;
    const heartbeat = setInterval(() => {
      void this.documents
        .send(
          new UpdateCommand({
            TableName: this.tenants,
            Key: key,
            UpdateExpression: 'SET expiresAt = :expires',
            ConditionExpression: '#owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':expires': Math.floor((now() + ttl) / 1000), ':owner': owner },
          }),
        )
        .catch(() => undefined);
    }, Math.max(1000, Math.floor(ttl / 3)));
    heartbeat.unref();
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(heartbeat);
        await this.documents
          .send(
            new DeleteCommand({
              TableName: this.tenants,
              Key: key,
              ConditionExpression: '#owner = :owner',
              ExpressionAttributeNames: { '#owner': 'owner' },
              ExpressionAttributeValues: { ':owner': owner },
            }),
          )
          .catch((error: unknown) => {
            if (!isConditionFailure(error)) throw awsFailure(error, 'releasing the project lock');
          });
      },
    };
  }

  async mutate<T>(info: MutationInfo, run: (tx: Transaction) => Promise<T> | T, options: MutateOptions = {}): Promise<T> {
    void options;
    await this.session.announce();
    await this.resolveActor();
    const lock = await this.acquireLock(info.command);
    try {
      await this.assertAnchored();
      this.versions = new Map();
      const tx = new Transaction();
      let result: T;
      try {
        result = await run(tx);
      } catch (error) {
        if (!(error instanceof UserError && error.exitCode === ExitCode.badInput)) await this.recordFailure(info, tx, error);
        throw error;
      }
      if (tx.changes.length > 0) {
        this.options.log?.(`the aws target keeps no local state; ${tx.changes.length} local file change(s) of \`${info.command}\` were not applied`);
      }
      try {
        await this.anchor(await this.commit(info, tx));
      } catch (error) {
        if (error instanceof UserError && error.exitCode === ExitCode.conflict) await this.recordFailure(info, tx, error);
        throw error;
      }
      await this.publishGenerations(tx);
      return result;
    } finally {
      await lock.release();
    }
  }

  /**
   * Publishes the transaction's generation marker changes to each tenant's own table, after the
   * commit: the tenant table is not a control-plane table, and a marker that could not be written
   * leaves the committed change in place (runtimes then see it when their cache expires).
   */
  private async publishGenerations(tx: Transaction): Promise<void> {
    if (tx.generations.size === 0) return;
    const { publishGenerationItem } = await import('./secrets-backend.js');
    const now = new Date(this.options.now?.() ?? Date.now());
    for (const [tenant, { change, ticket }] of tx.generations) {
      const table = tenantTableName(this.session.stage, tenant);
      // First the function's concurrency: it holds even if the marker write below fails.
      let where: AwsSession;
      try {
        where = await this.tenantSession(tx, tenant);
      } catch (error) {
        // The change is committed; like a marker that could not be written, this is a warning.
        this.options.warn?.(`the cell of ${tenant} could not be reached (${error instanceof Error ? error.message : String(error)}); its function and generation marker were not updated`);
        continue;
      }
      if (change.suspended !== undefined) await this.applyConcurrency(tx, tenant, change.suspended, where);
      try {
        const marker = await publishGenerationItem(where === this.session ? this.documents : where.clients.documents, table, change.references, now, change.suspended === undefined ? {} : { suspended: change.suspended });
        ticket.generation = marker.generation;
        this.options.log?.(`generation marker of ${tenant} written: generation ${marker.generation}${change.suspended === undefined ? '' : change.suspended ? ', suspended' : ', serving'}`);
      } catch (error) {
        const what =
          change.suspended !== undefined
            ? 'its runtime keeps its previous suspension state until it is'
            : change.references.includes(API_KEYS_GENERATION_REFERENCE)
              // Found keys stay cached until the marker lists a key change: a revoked one would keep working.
              ? `warm runtimes keep the API keys they cached (a revoked one still works) until the marker moves: create and revoke a key to move it (\`sovereign tenant keys create ${tenant} --name flush\`, then \`sovereign tenant keys revoke ${tenant} flush\`)`
              : 'runtimes pick the change up when their cache expires';
        this.options.warn?.(`the generation marker of ${tenant} was not updated (${error instanceof Error ? error.message : String(error)}); ${what}`);
      }
    }
  }

  /** The session of the tenant's table and function: its cell's where its record names one. */
  private async tenantSession(tx: Transaction, tenant: string): Promise<AwsSession> {
    if (!this.options.sessionForTenant) return this.session;
    const record = tx.tenants.get(tenant) ?? (await this.getTenant(tenant));
    const where = record ? this.options.sessionForTenant(record) : this.session;
    // A cell is another account: say so before changing anything in it.
    if (where !== this.session) await where.announce();
    return where;
  }

  /** Suspension's reserved concurrency (0, or the tier's on resume) on the tenant's function; see `concurrency.ts`. */
  private async applyConcurrency(tx: Transaction, tenant: string, suspended: boolean, where: AwsSession): Promise<void> {
    const record = tx.tenants.get(tenant);
    if (!record) return;
    const { applySuspensionConcurrency, lambdaClientFor } = await import('./concurrency.js');
    try {
      const outcome = await applySuspensionConcurrency(lambdaClientFor(where.settings), this.session.stage, tenant, record.tier, suspended);
      if ('absent' in outcome) this.options.log?.(`tenant ${tenant} has no function on aws yet; its reserved concurrency was not changed`);
      else this.options.log?.(`reserved concurrency of ${tenant}'s function set to ${outcome.set ?? 'none'}`);
    } catch (error) {
      const what = suspended ? 'new invocations still start; its runtime refuses extension routes once it reads the marker' : 'it stays throttled until `sovereign tenant resume` is run again';
      this.options.warn?.(`the reserved concurrency of ${tenant}'s function was not changed (${error instanceof Error ? error.message : String(error)}); ${what}`);
    }
  }

  private anchorOpened: Promise<AwsCheckpointAnchor> | undefined;

  private openAnchor(): Promise<AwsCheckpointAnchor> | undefined {
    if (!this.options.checkpoints) return undefined;
    this.anchorOpened ??= this.options.checkpoints();
    return this.anchorOpened;
  }

  /**
   * Writes the committed event's signed checkpoint. It follows the transaction, so a failure here
   * (or a crash) leaves the last checkpoint behind the log, never ahead of it; the next event's
   * checkpoint covers this one too, and `audit log --verify` names the events not yet covered.
   */
  private async anchor(event: AuditEvent): Promise<void> {
    const opening = this.openAnchor();
    if (!opening) return;
    try {
      await (await opening).write(event);
    } catch (error) {
      this.options.warn?.(`the audit checkpoint of seq ${event.seq} was not written (${error instanceof Error ? error.message : String(error)}); the next mutation's checkpoint covers it`);
    }
  }

  /**
   * Before a mutation signs anything: the checkpoint at the table's last event, when there is one,
   * must have signed that event, or the next checkpoint would sign over a rewritten table. A last
   * event without a checkpoint (an interrupted command, or an append without the key — they look
   * the same here) is warned about and named by `audit log --verify`.
   */
  private async assertAnchored(): Promise<void> {
    const opening = this.openAnchor();
    if (!opening) return;
    const last = await this.lastEvent();
    if (!last) return;
    let checkpoint: Checkpoint | undefined;
    try {
      checkpoint = await (await opening).read(last.seq);
    } catch (error) {
      this.options.warn?.(`the audit checkpoint of seq ${last.seq} could not be read (${error instanceof Error ? error.message : String(error)})`);
      return;
    }
    if (!checkpoint) {
      this.options.warn?.(`the last audit event (seq ${last.seq}) has no checkpoint; run \`sovereign audit log --verify\``);
      return;
    }
    if (checkpoint.headHash !== last.hash) {
      throw new UserError(`the audit table does not match its signed checkpoint at seq ${last.seq}; nothing was changed`, {
        hint: 'run `sovereign audit log --verify` to see where; the table was rewritten after the checkpoint was signed',
        exitCode: ExitCode.failed,
      });
    }
  }

  /** `audit log --verify` on aws: the audit table against the anchor bucket's newest checkpoint. */
  async verifyAuditTrail(): Promise<TrailVerification> {
    const opening = this.openAnchor();
    if (!opening) throw new Error('this state has no audit anchor');
    const found = await verifyAwsTrail(this, await opening);
    const result: TrailVerification = {
      ok: found.ok,
      events: found.events,
      lastSeq: found.lastSeq,
      lastHash: found.lastHash,
      repairs: [],
      checkpoint: found.checkpoint ? { ...found.checkpoint, count: found.checkpoint.seq } : null,
      lastTrusted: found.ok || found.kind === 'unsigned-append' ? (found.checkpoint ? { seq: found.checkpoint.seq, time: found.checkpoint.time } : null) : null,
    };
    if (found.kind) result.kind = found.kind;
    if (found.firstBadSeq !== undefined) result.firstBadSeq = found.firstBadSeq;
    if (found.problem) result.problem = { seq: found.firstBadSeq ?? null, line: found.firstBadSeq ?? 0, message: found.problem };
    return result;
  }

  /** The checkpoint at the chain's head and the KMS key's public half, for `audit export`. */
  async headCheckpoint(): Promise<HeadCheckpoint | undefined> {
    const opening = this.openAnchor();
    const last = await this.lastEvent();
    if (!opening || !last) return undefined;
    const anchor = await opening;
    const checkpoint = await anchor.read(last.seq);
    return checkpoint ? { checkpoint, publicKey: await anchor.loadPublicKey() } : undefined;
  }

  private newEvent(info: MutationInfo, tx: Transaction, error?: unknown): NewAuditEvent {
    return mutationEvent(this.actor, info, tx, error);
  }

  /** Writes the tenant items and the event in one transaction; a taken seq is retried on the new head. */
  private async commit(info: MutationInfo, tx: Transaction): Promise<AuditEvent> {
    const tenantItems = [...tx.tenants].map(([id, record]) => {
      const known = this.versions.get(id);
      const condition = known === undefined || known === 0 ? 'attribute_not_exists(pk)' : 'version = :expected';
      const values = known === undefined || known === 0 ? undefined : { ':expected': known };
      if (record === null) {
        return {
          Delete: {
            TableName: this.tenants,
            Key: { pk: this.pk.tenant, sk: id },
            ...(values ? { ConditionExpression: condition, ExpressionAttributeValues: values } : {}),
          },
        };
      }
      return {
        Put: {
          TableName: this.tenants,
          Item: { pk: this.pk.tenant, sk: id, version: (known ?? 0) + 1, record },
          ConditionExpression: condition,
          ...(values ? { ExpressionAttributeValues: values } : {}),
        },
      };
    });
    const guardedItems = tx.guarded.map((item) => ({ Put: this.guardedPut(item) }));
    const tenantTableItems = tx.tenantItems.map((change) => this.tenantTableWrite(change));
    for (let attempt = 1; ; attempt += 1) {
      const event = this.buildEvent(await this.lastEvent(), this.newEvent(info, tx));
      try {
        await this.call('recording the change', () =>
          this.documents.send(new TransactWriteCommand({ TransactItems: [...tenantItems, ...guardedItems, ...tenantTableItems, { Put: this.eventItem(event) }] })),
        );
        return event;
      } catch (error) {
        const failed = cancelledIndexes(error);
        if (failed === undefined) throw error instanceof UserError ? error : awsFailure(error, 'recording the change');
        // A guarded claim taken by someone else is the more specific answer than a moved record.
        const guardedFailures = failed.filter((i) => i >= tenantItems.length && i < tenantItems.length + guardedItems.length).map((i) => tx.guarded[i - tenantItems.length]!);
        if (guardedFailures.length > 0) {
          throw new GuardedWriteConflict(guardedFailures, `${guardedFailures.map((g) => `${g.partition} ${g.key}`).join(', ')} was written by another command while this one ran; nothing was written`, {
            hint: 'run the command again: it starts from the current state',
          });
        }
        const tableStart = tenantItems.length + guardedItems.length;
        const tableFailures = failed.filter((i) => i >= tableStart && i < tableStart + tenantTableItems.length).map((i) => tx.tenantItems[i - tableStart]!);
        if (tableFailures.length > 0) {
          throw conflict(
            `${tableFailures.map((c) => `item ${String(c.item.pk)} of tenant ${c.tenant}'s table`).join(', ')} was changed by another command while this one ran; nothing was written`,
            'run the command again: it starts from the current state',
          );
        }
        const tenantFailures = failed.filter((i) => i < tenantItems.length).map((i) => [...tx.tenants.keys()][i]!);
        if (tenantFailures.length > 0) {
          throw conflict(
            `tenant ${tenantFailures.map((id) => `"${id}"`).join(', ')} was changed by another command while this one ran; nothing was written`,
            'run the command again: it starts from the current record',
          );
        }
        if (attempt >= MAX_COMMIT_ATTEMPTS) throw conflict('the audit chain kept moving under this command; nothing was written', 'run the command again');
      }
    }
  }

  private async recordFailure(info: MutationInfo, tx: Transaction, error: unknown): Promise<void> {
    for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt += 1) {
      const event = this.buildEvent(await this.lastEvent(), this.newEvent(info, tx, error));
      try {
        await this.call('recording the failure', () => this.documents.send(new PutCommand(this.eventItem(event))));
        await this.anchor(event);
        return;
      } catch (failure) {
        if (!isConditionFailure(failure)) return; // the original error matters more
      }
    }
  }
}

/**
 * The aws StateStore for `ctx.state()` when the target is aws. Clients come from the global
 * options; the account, region and stage are printed before the first mutation.
 */
export function createAwsState(
  project: Project,
  globals: { stage: string; region?: string | undefined; profile?: string | undefined; endpointUrl?: string | undefined },
  extra: { out?: { info(message: string): void; warn?(message: string): void; debug?(message: string): void }; session?: AwsSession; sessionForTenant?: (record: TenantRecord) => AwsSession } = {},
): AwsState {
  const session = extra.session ?? openAwsSession({ project: project.config.project, stage: globals.stage, globals, ...(extra.out ? { out: extra.out } : {}) });
  const { debug, warn } = extra.out ?? {};
  return new AwsState(project, {
    session,
    ...(extra.sessionForTenant ? { sessionForTenant: extra.sessionForTenant } : {}),
    checkpoints: () => openCheckpointAnchor(session, project.config.audit?.checkpointRetentionDays ?? DEFAULT_CHECKPOINT_RETENTION_DAYS),
    ...(debug ? { log: (message: string) => debug.call(extra.out, message) } : {}),
    ...(warn ? { warn: (message: string) => warn.call(extra.out, message) } : {}),
  });
}

/** Verifies the chain stored on aws with the same rules as the local log. */
export async function verifyAwsChain(state: AwsState): Promise<{ ok: boolean; events: number; lastSeq: number; problem?: { seq: number; message: string } }> {
  let prevHash = GENESIS_HASH;
  let expected = 1;
  for await (const event of state.events()) {
    const problem = chainLinkProblem(event, expected, prevHash);
    if (problem) return { ok: false, events: expected - 1, lastSeq: expected - 1, problem: { seq: event.seq, message: problem } };
    prevHash = event.hash;
    expected += 1;
  }
  return { ok: true, events: expected - 1, lastSeq: expected - 1 };
}

export interface AwsTrailVerification {
  ok: boolean;
  events: number;
  lastSeq: number;
  lastHash: string;
  /** The newest checkpoint object, signed by the KMS key. */
  checkpoint: { seq: number; time: string; signer: string } | null;
  kind?: 'chain' | 'unanchored' | 'untrusted-checkpoint' | 'truncated' | 'rewritten' | 'unsigned-append';
  firstBadSeq?: number;
  problem?: string;
}

/**
 * The chain in the audit table against the newest checkpoint in the anchor bucket, by the local
 * log's rules (see src/audit/trail.ts): a table that ends before the checkpoint was truncated, an
 * event at its seq with another hash means a rewrite at or before it, events after it were
 * written without `kms:Sign` — or by a command that crashed between its commit and its checkpoint,
 * which is why those are reported with the seq to look at rather than repaired.
 */
export async function verifyAwsTrail(state: AwsState, anchor: AwsCheckpointAnchor): Promise<AwsTrailVerification> {
  let latestSeq: number | undefined;
  for await (const seq of anchor.seqs()) latestSeq = latestSeq === undefined ? seq : Math.max(latestSeq, seq);
  const latest = latestSeq === undefined ? undefined : await anchor.read(latestSeq);
  const publicKey = await anchor.loadPublicKey();
  let prevHash = GENESIS_HASH;
  let expected = 1;
  let hashAtLatest: string | undefined;
  const base = () => ({ events: expected - 1, lastSeq: expected - 1, lastHash: prevHash, checkpoint: latest ? { seq: latest.seq, time: latest.time, signer: latest.signer } : null });
  for await (const event of state.events()) {
    const problem = chainLinkProblem(event, expected, prevHash);
    if (problem) return { ok: false, ...base(), kind: 'chain', firstBadSeq: event.seq, problem };
    if (event.seq === latest?.seq) hashAtLatest = event.hash;
    prevHash = event.hash;
    expected += 1;
  }
  const lastSeq = expected - 1;
  const fail = (kind: NonNullable<AwsTrailVerification['kind']>, firstBadSeq: number, problem: string): AwsTrailVerification => ({ ok: false, ...base(), kind, firstBadSeq, problem });
  if (!latest) return lastSeq === 0 ? { ok: true, ...base() } : fail('unanchored', 1, `the audit table has ${lastSeq} events but the anchor bucket holds no checkpoint`);
  if (!checkpointSignedBy(latest, publicKey)) return fail('untrusted-checkpoint', latest.seq, `checkpoint seq ${latest.seq} is not signed by the KMS key ${keyFingerprint(publicKey)}`);
  if (lastSeq < latest.seq) return fail('truncated', lastSeq + 1, `the audit table ends at seq ${lastSeq}, but checkpoint seq ${latest.seq} (${latest.time}) proves ${latest.count} events existed`);
  if (hashAtLatest !== latest.headHash) return fail('rewritten', latest.seq, `the event at seq ${latest.seq} is not the one its checkpoint signed: the table was rewritten at or before it`);
  if (lastSeq > latest.seq) return fail('unsigned-append', latest.seq + 1, `seq ${latest.seq + 1} to ${lastSeq} have no checkpoint: written without the KMS key, or by a command interrupted between its commit and its checkpoint`);
  return { ok: true, ...base() };
}
