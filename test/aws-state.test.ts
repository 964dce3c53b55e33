import { beforeEach, describe, expect, it } from 'vitest';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { ExitCode, UserError, badInput } from '../src/errors.js';
import type { Project } from '../src/project.js';
import { hashEvent, type AuditEvent } from '../src/state/audit-log.js';
import { newTenantRecord } from '../src/tenants/tenants.js';
import { createAwsClients, type AwsClients } from '../src/targets/aws/clients.js';
import { openAwsSession } from '../src/targets/aws/session.js';
import { AwsState, seqKey, verifyAwsChain } from '../src/targets/aws/state.js';
import { awsError, FakeDocumentTables } from './aws-fakes.js';

const project = { root: '/nowhere', config: { project: 'demo' }, paths: {} } as unknown as Project;
const ARN = 'arn:aws:sts::123456789012:assumed-role/deployer/ci-run-7';
const TENANTS = 'sovereign_dev_tenants';
const AUDIT = 'sovereign_dev_audit';

let clients: AwsClients;
let db: FakeDocumentTables;
let lines: string[];
let clock: number;

function store(overrides: Partial<ConstructorParameters<typeof AwsState>[1]> = {}): AwsState {
  const session = openAwsSession({ project: 'demo', stage: 'dev', clients, out: { info: (l) => void lines.push(l) }, sleep: async () => undefined });
  return new AwsState(project, { session, sleep: async (ms) => void (clock += ms), now: () => clock, log: (m) => void lines.push(m), lockWaitMs: 5000, ...overrides });
}

function record(id: string, by = ARN) {
  return newTenantRecord({ id, tier: 'basic', stage: 'dev', extensions: [], by, now: '2026-01-01T00:00:00.000Z' });
}

async function chain(state: AwsState): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  for await (const event of state.events()) events.push(event);
  return events;
}

beforeEach(() => {
  clients = createAwsClients({ region: 'eu-west-1' });
  db = new FakeDocumentTables();
  lines = [];
  clock = Date.parse('2026-01-01T00:00:00Z');
  mockClient(clients.sts).on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: ARN, UserId: 'AROA:ci' });
  const docs = mockClient(clients.documents);
  docs.on(GetCommand).callsFake(async (input) => db.get(input));
  docs.on(PutCommand).callsFake(async (input) => db.put(input));
  docs.on(DeleteCommand).callsFake(async (input) => db.delete(input));
  docs.on(UpdateCommand).callsFake(async (input) => db.update(input));
  docs.on(QueryCommand).callsFake(async (input) => db.query(input));
  docs.on(TransactWriteCommand).callsFake(async (input) => db.transactWrite(input));
});

describe('aws state', () => {
  it('stores tenants in the registry table and one hash-chained event per mutation, the actor being the STS caller ARN', async () => {
    const state = store();
    for (const id of ['acme', 'globex', 'initech']) {
      await state.mutate({ command: 'tenant create', action: 'tenant.create', tenant: id }, async (tx) => {
        expect(await state.getTenant(id)).toBeUndefined();
        tx.putTenant(record(id, state.actor));
      });
    }
    expect(lines[0]).toBe(`aws account 123456789012, region eu-west-1, stage dev (as ${ARN})`);
    expect((await state.listTenants()).map((t) => t.id)).toEqual(['acme', 'globex', 'initech']); // over two Query pages
    expect(db.table(TENANTS).get(FakeDocumentTables.key('demo#tenant', 'acme'))).toMatchObject({ version: 1 });
    const events = await chain(state);
    expect(events.map((e) => [e.seq, e.action, e.tenant, e.actor])).toEqual([
      [1, 'tenant.create', 'acme', ARN],
      [2, 'tenant.create', 'globex', ARN],
      [3, 'tenant.create', 'initech', ARN],
    ]);
    const { hash, ...body } = events[1]!;
    expect(hashEvent(body)).toBe(hash);
    expect(events[1]!.prevHash).toBe(events[0]!.hash);
    expect(events[0]!.prevHash).toBe('0'.repeat(64));
    expect(await verifyAwsChain(state)).toEqual({ ok: true, events: 3, lastSeq: 3 });
    // the lock is released after each mutation
    expect(db.table(TENANTS).get(FakeDocumentTables.key('demo#lock', 'project'))).toBeUndefined();
  });

  it('an update conditional on the version read fails with exit 4 when another writer changed the tenant meanwhile', async () => {
    const state = store();
    await state.mutate({ command: 'tenant create', action: 'tenant.create', tenant: 'acme' }, (tx) => tx.putTenant(record('acme')));
    const error = (await state
      .mutate({ command: 'tenant suspend', action: 'tenant.suspend', tenant: 'acme' }, async (tx) => {
        const current = (await state.getTenant('acme'))!;
        // a writer whose lock had expired changes the item under us
        const key = FakeDocumentTables.key('demo#tenant', 'acme');
        db.table(TENANTS).set(key, { ...db.table(TENANTS).get(key)!, version: 2 });
        tx.putTenant({ ...current, status: 'suspended' });
      })
      .catch((e: unknown) => e)) as UserError;
    expect(error).toBeInstanceOf(UserError);
    expect(error.exitCode).toBe(ExitCode.conflict);
    expect(error.message).toMatch(/tenant "acme" was changed by another command/);
    expect((await state.getTenant('acme'))!.status).toBe('provisioning');
    const events = await chain(state);
    expect(events.map((e) => `${e.seq}:${e.action}:${e.outcome}`)).toEqual(['1:tenant.create:success', '2:tenant.suspend:failure']);
    expect((await verifyAwsChain(state)).ok).toBe(true);
  });

  it('two creators of one tenant: the second conditional put (attribute_not_exists) loses', async () => {
    const state = store();
    const error = (await state
      .mutate({ command: 'tenant create', action: 'tenant.create', tenant: 'acme' }, async (tx) => {
        expect(await state.getTenant('acme')).toBeUndefined();
        db.table(TENANTS).set(FakeDocumentTables.key('demo#tenant', 'acme'), { pk: 'demo#tenant', sk: 'acme', version: 1, record: record('acme', 'someone-else') });
        tx.putTenant(record('acme'));
      })
      .catch((e: unknown) => e)) as UserError;
    expect(error.exitCode).toBe(ExitCode.conflict);
    expect((await state.getTenant('acme'))!.createdBy).toBe('someone-else');
  });

  it('a seq taken by another writer is retried on the new head: the chain never forks', async () => {
    const state = store();
    const other = store();
    await state.mutate({ command: 'tenant create', action: 'tenant.create', tenant: 'acme' }, (tx) => tx.putTenant(record('acme')));
    await state.mutate({ command: 'tenant create', action: 'tenant.create', tenant: 'globex' }, async (tx) => {
      // another writer appends seq 2 while this one runs (its lock expired, say)
      const head = (await other.lastEvent())!;
      const intruder = { seq: 2, time: '2026-01-01T00:00:01.000Z', actor: 'arn:other', command: 'secrets set', tenant: 'acme', action: 'secrets.set', args: {}, outcome: 'success' as const, prevHash: head.hash };
      const event = { ...intruder, hash: hashEvent(intruder) };
      db.table(AUDIT).set(FakeDocumentTables.key('demo#audit', seqKey(2)), { pk: 'demo#audit', sk: seqKey(2), seq: 2, event: JSON.stringify(event) });
      tx.putTenant(record('globex'));
    });
    const events = await chain(state);
    expect(events.map((e) => `${e.seq}:${e.action}`)).toEqual(['1:tenant.create', '2:secrets.set', '3:tenant.create']);
    expect(events[2]!.prevHash).toBe(events[1]!.hash);
    expect(await verifyAwsChain(state)).toMatchObject({ ok: true, events: 3 });
    expect(await state.getTenant('globex')).toBeDefined();
  });

  it('a failed mutation records a failure event and writes no tenant; bad input records nothing', async () => {
    const state = store();
    await expect(
      state.mutate({ command: 'tenant create', action: 'tenant.create', tenant: 'acme' }, (tx) => {
        tx.putTenant(record('acme'));
        throw new UserError('backend exploded', { exitCode: ExitCode.failed });
      }),
    ).rejects.toThrow('backend exploded');
    await expect(state.mutate({ command: 'tenant create', action: 'tenant.create', tenant: 'x' }, () => { throw badInput('bad id'); })).rejects.toThrow('bad id');
    expect(await state.getTenant('acme')).toBeUndefined();
    const events = await chain(state);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ outcome: 'failure', error: 'backend exploded', actor: ARN });
  });

  it('secret-looking arguments never reach an event', async () => {
    const state = store();
    await state.mutate({ command: 'secrets put', action: 'secrets.put', tenant: 'acme', args: { reference: 'ssm:/dev/tenants/acme/x', value: 'hunter2' } }, () => undefined);
    const [event] = await chain(state);
    expect(JSON.stringify(db.table(AUDIT).get(FakeDocumentTables.key('demo#audit', seqKey(1))))).not.toContain('hunter2');
    expect(event!.args).toEqual({ reference: 'ssm:/dev/tenants/acme/x', value: '[removed]' });
  });

  it('waits for a live lock held by another command, then fails with exit 4 naming it', async () => {
    db.table(TENANTS).set(FakeDocumentTables.key('demo#lock', 'project'), { pk: 'demo#lock', sk: 'project', owner: 'arn:other host-b 42 x', command: 'tenant deploy', since: '2026-01-01T00:00:00.000Z', expiresAt: Math.floor(clock / 1000) + 600 });
    const error = (await store().mutate({ command: 'tenant create', action: 'tenant.create', tenant: 'acme' }, () => undefined).catch((e: unknown) => e)) as UserError;
    expect(error.exitCode).toBe(ExitCode.conflict);
    expect(error.message).toMatch(/locked by `tenant deploy` \(arn:other on host-b/);
  });

  it('takes over a lock whose holder stopped renewing it (expired)', async () => {
    db.table(TENANTS).set(FakeDocumentTables.key('demo#lock', 'project'), { pk: 'demo#lock', sk: 'project', owner: 'dead', command: 'tenant deploy', expiresAt: Math.floor(clock / 1000) - 1 });
    await store().mutate({ command: 'tenant create', action: 'tenant.create', tenant: 'acme' }, (tx) => tx.putTenant(record('acme')));
    expect(db.table(TENANTS).get(FakeDocumentTables.key('demo#lock', 'project'))).toBeUndefined();
  });

  it('local file changes do not apply on aws: they are reported and not written', async () => {
    const state = store();
    await state.mutate({ command: 'tenant create', action: 'tenant.create', tenant: 'acme' }, (tx) => {
      tx.putTenant(record('acme'));
      tx.write('/nowhere/.sovereign/keys/acme.key', Buffer.alloc(32), 0o600);
    });
    expect(lines.some((l) => /keeps no local state; 1 local file change/.test(l))).toBe(true);
    expect(await state.getTenant('acme')).toBeDefined();
  });

  it('without the control-plane tables: exit 3 pointing at bootstrap', async () => {
    mockClient(clients.documents).on(GetCommand).rejects(awsError('ResourceNotFoundException', 'Requested resource not found'));
    const error = (await store().getTenant('acme').catch((e: unknown) => e)) as UserError;
    expect(error.exitCode).toBe(ExitCode.notFound);
    expect(error.hint).toMatch(/sovereign bootstrap/);
  });

  it('AccessDenied from DynamoDB is exit 5 with a hint', async () => {
    mockClient(clients.documents).on(QueryCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform: dynamodb:Query', 400));
    const error = (await store().listTenants().catch((e: unknown) => e)) as UserError;
    expect(error.exitCode).toBe(ExitCode.denied);
    expect(error.hint).toBeTruthy();
  });
});
