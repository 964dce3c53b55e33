/**
 * `sovereign dev`'s DynamoDB: one loopback endpoint in the dev process, speaking DynamoDB's JSON
 * protocol, in front of one dynalite store per tenant. It stands where AWS's authentication and
 * IAM stand in production, so a tenant's code gets in `dev` what it would get deployed:
 *
 * - every request is signed (SigV4 over the exact bytes received, service `dynamodb`, the
 *   project's region, within 15 minutes of now) with credentials issued to one tenant only
 *   (`issueCredentials`): random session credentials shaped like Lambda's, handed to that tenant's
 *   process in its environment and nowhere else, revoked when the tenant goes away;
 * - the request is then evaluated against that tenant's own runtime policy, rendered exactly as
 *   the aws target deploys it (`renderTenantPolicy`, through the isolation check's inputs), by
 *   the project's offline evaluator: each action on each table or index, with the partition keys
 *   of the request as `dynamodb:LeadingKeys`;
 * - only then is it routed, by table name, to the store of the tenant that owns the table
 *   (`tenantTableName`). The stores listen on nothing: dynalite's handler runs in this process.
 *
 * Errors are AWS's: `UnrecognizedClientException` for an unknown, revoked or mismatched key or
 * token, `InvalidSignatureException` for a wrong signature or a stale date,
 * `AccessDeniedException` with IAM's message when the policy does not allow, and
 * `ResourceNotFoundException` for a table no tenant owns — after authorisation, as AWS does.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { isolationTenantInput } from '../../../isolation/inputs.js';
import { isolationSubjects } from '../../../isolation/matrix.js';
import { evaluatePolicies, type EvaluablePolicy } from '../../../isolation/policy-eval.js';
import type { Project } from '../../../project.js';
import type { TenantRecord } from '../../../state/registry.js';
import { TENANT_TABLE_KEY_SCHEMA } from '../../../runtime/table.js';
import { partitionOf, type PolicyExtension } from '../../../templates/policy.js';
import { tenantFunctionName, tenantRoleName, tenantTableName } from '../../../templates/names.js';
import { requestAccess, type AccessCheck } from './data-access.js';
import { ensureTenantTable, openDynaliteStore, storeIsLocked, type InProcessStore, type StoreAnswer } from './dynalite-store.js';
import { UNRECOGNIZED_TOKEN_MESSAGE, verifySigV4 } from './sigv4.js';

/** Session credentials as Lambda gives them to a function (`AWS_ACCESS_KEY_ID`, …). */
export interface TenantCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** A tenant as the data plane knows it: whose table, which policy, where its store lives. */
export interface DataTenant {
  id: string;
  stage: string;
  policy: EvaluablePolicy;
  /** `.sovereign/data/<tenant>` (the store is its `dynamodb` folder). */
  dataDir: string;
}

export interface DataPlaneOptions {
  region: string;
  account: string;
  /** A store unused this long is closed (default 60 s). */
  idleMs?: number;
  now?: () => Date;
  /** Denied requests, for the dev event log: never a credential, never an item. */
  onDenied?: (denied: { tenant: string | undefined; error: string; action?: string; resource?: string }) => void;
}

/** DynamoDB's largest request. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
const TARGET_PREFIX = 'DynamoDB_20120810.';
const CORAL = 'com.amazon.coral.service#';
const DYNAMODB = 'com.amazonaws.dynamodb.v20120810#';
const HASH_KEY = TENANT_TABLE_KEY_SCHEMA.KeySchema.find((k) => k.KeyType === 'HASH')!.AttributeName;
/** The operations of DynamoDB's 2012-08-10 API; any other target is UnknownOperationException. */
const DYNAMODB_OPERATIONS = new Set(
  (
    'BatchExecuteStatement BatchGetItem BatchWriteItem CreateBackup CreateGlobalTable CreateTable DeleteBackup DeleteItem DeleteResourcePolicy DeleteTable ' +
    'DescribeBackup DescribeContinuousBackups DescribeContributorInsights DescribeEndpoints DescribeExport DescribeGlobalTable DescribeGlobalTableSettings ' +
    'DescribeImport DescribeKinesisStreamingDestination DescribeLimits DescribeTable DescribeTableReplicaAutoScaling DescribeTimeToLive ' +
    'DisableKinesisStreamingDestination EnableKinesisStreamingDestination ExecuteStatement ExecuteTransaction ExportTableToPointInTime GetItem ' +
    'GetResourcePolicy ImportTable ListBackups ListContributorInsights ListExports ListGlobalTables ListImports ListTables ListTagsOfResource PutItem ' +
    'PutResourcePolicy Query RestoreTableFromBackup RestoreTableToPointInTime Scan TagResource TransactGetItems TransactWriteItems UntagResource ' +
    'UpdateContinuousBackups UpdateContributorInsights UpdateGlobalTable UpdateGlobalTableSettings UpdateItem UpdateKinesisStreamingDestination ' +
    'UpdateTable UpdateTableReplicaAutoScaling UpdateTimeToLive'
  ).split(' '),
);
const LOCK_RETRIES = 10;
const LOCK_RETRY_MS = 50;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** `ASIA` and 16 base32 characters, as STS spells a temporary access key id. */
function temporaryKeyId(): string {
  return `ASIA${[...randomBytes(16)].map((b) => BASE32[b & 31]).join('')}`;
}

interface StoreSlot {
  opening: Promise<InProcessStore> | undefined;
  inFlight: number;
  idle: NodeJS.Timeout | undefined;
}

interface Answer {
  status: number;
  type: string;
  message?: string;
}

export class DataPlane {
  private readonly server: Server;
  private readonly tenants = new Map<string, DataTenant>();
  /** Table name → owning tenant. */
  private readonly tables = new Map<string, string>();
  private readonly keys = new Map<string, TenantCredentials & { tenant: string }>();
  private readonly stores = new Map<string, StoreSlot>();
  /** Stores being closed: a request that arrives meanwhile opens the store again after it. */
  private readonly closings = new Map<string, Promise<void>>();
  private readonly partition: string;
  private closing = false;

  constructor(private readonly options: DataPlaneOptions) {
    this.partition = partitionOf(options.region);
    this.server = createServer({ noDelay: true }, (req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
  }

  /** Listens on a free loopback port; resolves with `http://127.0.0.1:<port>`. */
  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    return this.endpoint;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Adds or updates a tenant (its policy follows its extensions). */
  register(tenant: DataTenant): void {
    this.tenants.set(tenant.id, tenant);
    this.tables.set(tenantTableName(tenant.stage, tenant.id), tenant.id);
  }

  /** Fresh credentials bound to `tenant` only; valid until revoked (and refused until the tenant is registered). */
  issueCredentials(tenant: string): TenantCredentials {
    const credentials = { accessKeyId: temporaryKeyId(), secretAccessKey: randomBytes(30).toString('base64'), sessionToken: randomBytes(96).toString('base64') };
    this.keys.set(credentials.accessKeyId, { ...credentials, tenant });
    return credentials;
  }

  /** Revokes one access key: its next request is `UnrecognizedClientException`. */
  revoke(accessKeyId: string): void {
    this.keys.delete(accessKeyId);
  }

  /** Revokes every key of the tenant, forgets it and closes its store. */
  async removeTenant(tenant: string): Promise<void> {
    for (const [id, key] of this.keys) if (key.tenant === tenant) this.keys.delete(id);
    const known = this.tenants.get(tenant);
    this.tenants.delete(tenant);
    if (known) this.tables.delete(tenantTableName(known.stage, tenant));
    await this.closeStore(tenant);
  }

  /** Whether the tenant's store is open now (for tests of the idle close). */
  storeOpen(tenant: string): boolean {
    return this.stores.get(tenant)?.opening !== undefined;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.keys.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.stores.keys()].map((tenant) => this.closeStore(tenant)));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        req.removeAllListeners('data');
        reply(res, 413, { status: 413, type: `${CORAL}RequestEntityTooLarge`, message: 'Request entity too large' });
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_REQUEST_BYTES || res.headersSent) return;
      this.serve(req, Buffer.concat(chunks)).then(
        (answer) => ('body' in answer ? writeStoreAnswer(res, answer) : reply(res, answer.status, answer)),
        () => reply(res, 500, { status: 500, type: `${DYNAMODB}InternalServerError`, message: 'Internal server error' }),
      );
    });
    req.on('error', () => res.destroy());
  }

  /** Authenticates, authorises and routes one request; the answer to write. */
  private async serve(req: IncomingMessage, body: Buffer): Promise<Answer | StoreAnswer> {
    // What DynamoDB answers before it authenticates (dynalite keeps the same order).
    if (req.method !== 'POST') return { status: 404, type: `${CORAL}UnknownOperationException` };
    let parsed: unknown = {};
    if (body.length > 0) {
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return { status: 400, type: `${CORAL}SerializationException` };
      }
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    if (!DYNAMODB_OPERATIONS.has(operation)) return { status: 400, type: `${CORAL}UnknownOperationException` };

    const verified = verifySigV4(
      { method: req.method, url: req.url ?? '/', rawHeaders: req.rawHeaders, body },
      { service: 'dynamodb', region: this.options.region, now: this.options.now?.() ?? new Date(), secretOf: (id) => this.keys.get(id) },
    );
    if (!verified.ok) return this.denied(undefined, { status: 400, type: `${CORAL}${verified.error}`, message: verified.message });
    const key = this.keys.get(verified.accessKeyId);
    const tenant = key ? this.tenants.get(key.tenant) : undefined;
    if (!key || !tenant) return this.denied(undefined, { status: 400, type: `${CORAL}UnrecognizedClientException`, message: UNRECOGNIZED_TOKEN_MESSAGE });
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { status: 400, type: `${CORAL}SerializationException` };

    const access = requestAccess(operation, parsed as Record<string, unknown>, { partition: this.partition, region: this.options.region, account: this.options.account }, (table) =>
      this.tables.has(table) ? HASH_KEY : undefined,
    );
    for (const check of access.checks) {
      const decision = evaluatePolicies([tenant.policy], check.action, check.resource, check.context);
      if (decision !== 'allowed') return this.denied(tenant.id, this.accessDenied(tenant, check, decision === 'explicitDeny'), check);
    }
    const owners = new Set(access.tables.map((table) => this.tables.get(table)));
    if (owners.has(undefined)) return { status: 400, type: `${DYNAMODB}ResourceNotFoundException`, message: 'Requested resource not found' };
    if (owners.size > 1) return { status: 400, type: `${CORAL.replace('service', 'validate')}ValidationException`, message: 'sovereign dev serves the tables of one tenant per request' };
    const owner = owners.size === 1 ? [...owners][0]! : tenant.id;
    return this.withStore(owner, (store) => store.call(operation, body));
  }

  private accessDenied(tenant: DataTenant, check: AccessCheck, explicit: boolean): Answer {
    const user = `arn:${this.partition}:sts::${this.options.account}:assumed-role/${tenantRoleName(tenant.stage, tenant.id)}/${tenantFunctionName(tenant.stage, tenant.id)}`;
    const why = explicit ? 'with an explicit deny in an identity-based policy' : `because no identity-based policy allows the ${check.action} action`;
    return { status: 400, type: `${CORAL}AccessDeniedException`, message: `User: ${user} is not authorized to perform: ${check.action} on resource: ${check.resource} ${why}` };
  }

  private denied(tenant: string | undefined, answer: Answer, check?: AccessCheck): Answer {
    this.options.onDenied?.({ tenant, error: answer.type.slice(answer.type.indexOf('#') + 1), ...(check ? { action: check.action, resource: check.resource } : {}) });
    return answer;
  }

  /** Runs `call` on the tenant's store, opened on first use and closed after an idle time. */
  private async withStore(tenant: string, call: (store: InProcessStore) => Promise<StoreAnswer>): Promise<StoreAnswer | Answer> {
    const known = this.tenants.get(tenant);
    if (!known || this.closing) return { status: 400, type: `${DYNAMODB}ResourceNotFoundException`, message: 'Requested resource not found' };
    let slot = this.stores.get(tenant);
    if (!slot) {
      slot = { opening: undefined, inFlight: 0, idle: undefined };
      this.stores.set(tenant, slot);
    }
    clearTimeout(slot.idle);
    slot.inFlight += 1;
    try {
      const closing = this.closings.get(tenant);
      slot.opening ??= (closing ?? Promise.resolve()).then(() => this.openStore(known)).catch((error: unknown) => {
        slot!.opening = undefined;
        throw error;
      });
      const store = await slot.opening;
      return await call(store);
    } finally {
      slot.inFlight -= 1;
      if (slot.inFlight === 0 && !this.closing) {
        slot.idle = setTimeout(() => void this.closeStore(tenant), this.options.idleMs ?? 60_000);
        slot.idle.unref();
      }
    }
  }

  private async openStore(tenant: DataTenant): Promise<InProcessStore> {
    const path = join(tenant.dataDir, 'dynamodb');
    // dynalite crashes its host on a store another process holds (an export under way); a lock
    // that is being released (a close just finished) is waited for a moment.
    for (let attempt = 0; await storeIsLocked(path); attempt += 1) {
      if (attempt >= LOCK_RETRIES) throw new Error(`the store of ${tenant.id} is in use by another process`);
      await new Promise((r) => setTimeout(r, LOCK_RETRY_MS));
    }
    const store = await openDynaliteStore(path);
    try {
      await ensureTenantTable(store, tenantTableName(tenant.stage, tenant.id));
    } catch (error) {
      await store.close().catch(() => undefined);
      throw error;
    }
    return store;
  }

  private async closeStore(tenant: string): Promise<void> {
    const slot = this.stores.get(tenant);
    if (!slot || slot.inFlight > 0) return;
    clearTimeout(slot.idle);
    this.stores.delete(tenant);
    const closing = (async () => {
      const store = await slot.opening?.catch(() => undefined);
      await store?.close().catch(() => undefined);
    })();
    this.closings.set(tenant, closing);
    await closing;
    if (this.closings.get(tenant) === closing) this.closings.delete(tenant);
  }
}

function reply(res: ServerResponse, status: number, answer: Answer): void {
  const body = JSON.stringify(answer.message === undefined ? { __type: answer.type } : { __type: answer.type, message: answer.message });
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': randomBytes(39).toString('base64').toUpperCase().replace(/[+/]/g, '0'),
    'x-amz-crc32': String(crc32(body)),
  });
  res.end(body);
}

function writeStoreAnswer(res: ServerResponse, answer: StoreAnswer): void {
  res.writeHead(answer.status, { ...answer.headers, 'content-type': 'application/x-amz-json-1.0', 'content-length': answer.body.length });
  res.end(answer.body);
}

/**
 * A tenant for the data plane from its record and its extensions' declared permissions (the
 * manifests its artifact was built from): its runtime policy rendered as the aws target deploys
 * it, for the offline account and the project's region.
 */
export function dataTenantFor(project: Project, record: TenantRecord, extensions: PolicyExtension[], where: { account: string; region: string }): DataTenant {
  const permissions = new Map(extensions.map((e) => [e.name, e.permissions ?? []]));
  const [subject] = isolationSubjects({ stage: record.stage, ...where, tenants: [isolationTenantInput(project, record, record.stage, permissions)] });
  return { id: record.id, stage: record.stage, policy: subject!.policy, dataDir: join(project.paths.data, record.id) };
}
