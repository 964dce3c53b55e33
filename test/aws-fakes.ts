/**
 * A simulated CloudFormation behind aws-sdk-client-mock: stacks, change sets computed from the
 * templates (GetTemplate answers the last executed one), executions that progress one step per DescribeStackEvents poll, paginated events
 * (newest first), injected resource failures and throttling.
 */
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  ListStacksCommand,
  type Change,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { renderTenantStack } from '../src/templates/tenant-stack.js';
import type { Tier } from '../src/templates/tiers.js';

export function awsError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

interface FakeChangeSet {
  id: string;
  type: 'CREATE' | 'UPDATE';
  template: Record<string, unknown>;
  /** The template text as sent, which GetTemplate answers once the change set is executed. */
  body: string;
  changes: Change[];
  polls: number;
}

export interface FakeStack {
  id: string;
  name: string;
  status: string;
  resources: Record<string, unknown>;
  events: StackEvent[];
  changeSets: Map<string, FakeChangeSet>;
  outputs: Record<string, string>;
  tags: Array<{ Key?: string; Value?: string }>;
  /** The template text of the last successful execution (GetTemplate, Original). */
  body?: string;
}

export interface FakeOptions {
  /** Events per DescribeStackEvents page (default 3, to exercise pagination). */
  eventsPageSize?: number;
  /** Changes per DescribeChangeSet page (default 2). */
  changesPageSize?: number;
}

export class FakeCloudFormation {
  readonly stacks = new Map<string, FakeStack>();
  readonly mock: AwsClientStub<CloudFormationClient>;
  /** Command name → how many more calls answer `Throttling`. */
  readonly throttle = new Map<string, number>();
  /** Reads a template given by TemplateURL (what CloudFormation would fetch from S3). */
  templateByUrl: ((url: string) => string | undefined) | undefined;
  /** Logical id → reason: that resource fails on the next execution. */
  readonly failures = new Map<string, string>();
  private clock = Date.parse('2026-01-01T00:00:00Z');
  private seq = 0;

  constructor(client: CloudFormationClient | typeof CloudFormationClient, private readonly options: FakeOptions = {}) {
    this.mock = mockClient(client as CloudFormationClient);
    const guard = <I, O>(name: string, fn: (input: I) => O) => (input: I): O => {
      const left = this.throttle.get(name) ?? 0;
      if (left > 0) {
        this.throttle.set(name, left - 1);
        throw awsError('Throttling', 'Rate exceeded');
      }
      return fn(input);
    };
    this.mock.on(DescribeStacksCommand).callsFake(guard('DescribeStacks', (input: { StackName?: string }) => this.describeStacks(input.StackName!)));
    this.mock.on(CreateChangeSetCommand).callsFake(guard('CreateChangeSet', (input: Record<string, unknown>) => this.createChangeSet(input)));
    this.mock.on(DescribeChangeSetCommand).callsFake(guard('DescribeChangeSet', (input: Record<string, string>) => this.describeChangeSet(input)));
    this.mock.on(DeleteChangeSetCommand).callsFake(guard('DeleteChangeSet', (input: Record<string, string>) => {
      this.find(input.StackName!)?.changeSets.delete(input.ChangeSetName!);
      return {};
    }));
    this.mock.on(ExecuteChangeSetCommand).callsFake(guard('ExecuteChangeSet', (input: Record<string, string>) => this.execute(input)));
    this.mock.on(DescribeStackEventsCommand).callsFake(guard('DescribeStackEvents', (input: Record<string, string>) => this.describeEvents(input)));
    this.mock.on(DeleteStackCommand).callsFake(guard('DeleteStack', (input: Record<string, string>) => this.deleteStack(input.StackName!)));
    this.mock.on(GetTemplateCommand).callsFake(guard('GetTemplate', (input: { StackName?: string }) => this.getTemplate(input.StackName!)));
    this.mock.on(ListStacksCommand).callsFake(guard('ListStacks', (input: { NextToken?: string }) => this.listStacks(input.NextToken)));
  }

  /** A stack in a given state, as if left by earlier runs. */
  seed(name: string, status: string, resources: Record<string, unknown> = {}, outputs: Record<string, string> = {}): FakeStack {
    const stack = this.newStack(name, status);
    stack.resources = resources;
    stack.outputs = outputs;
    this.event(stack, name, 'AWS::CloudFormation::Stack', status, undefined, true);
    return stack;
  }

  find(nameOrId: string): FakeStack | undefined {
    for (const stack of this.stacks.values()) if (stack.id === nameOrId) return stack;
    const byName = this.stacks.get(nameOrId);
    return byName;
  }

  private newStack(name: string, status: string): FakeStack {
    const stack: FakeStack = {
      id: `arn:aws:cloudformation:eu-west-1:123456789012:stack/${name}/${(this.seq += 1)}`,
      name,
      status,
      resources: {},
      events: [],
      changeSets: new Map(),
      outputs: {},
      tags: [],
    };
    this.stacks.set(name, stack);
    return stack;
  }

  private event(stack: FakeStack, logicalId: string, type: string, status: string, reason?: string, own = false): StackEvent {
    this.clock += 1000;
    const event: StackEvent = {
      EventId: `e${(this.seq += 1)}`,
      StackId: stack.id,
      StackName: stack.name,
      LogicalResourceId: logicalId,
      PhysicalResourceId: own ? stack.id : `${stack.name}-${logicalId}`,
      ResourceType: type,
      ResourceStatus: status as StackEvent['ResourceStatus'],
      ...(reason ? { ResourceStatusReason: reason } : {}),
      Timestamp: new Date(this.clock),
    };
    stack.events.push(event);
    return event;
  }

  private describeStacks(nameOrId: string) {
    const stack = this.find(nameOrId);
    if (!stack || (stack.status === 'DELETE_COMPLETE' && stack.name === nameOrId)) {
      throw awsError('ValidationError', `Stack with id ${nameOrId} does not exist`);
    }
    return {
      Stacks: [
        {
          StackId: stack.id,
          StackName: stack.name,
          StackStatus: stack.status,
          CreationTime: new Date(0),
          Outputs: Object.entries(stack.outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
          Tags: stack.tags,
        },
      ],
    };
  }

  private getTemplate(nameOrId: string) {
    const stack = this.find(nameOrId);
    if (!stack || (stack.status === 'DELETE_COMPLETE' && stack.name === nameOrId)) throw awsError('ValidationError', `Stack with id ${nameOrId} does not exist`);
    return { TemplateBody: stack.body ?? '{}', StagesAvailable: ['Original', 'Processed'] };
  }

  private createChangeSet(input: Record<string, unknown>) {
    const name = input.StackName as string;
    const type = input.ChangeSetType as 'CREATE' | 'UPDATE';
    let stack = this.find(name);
    if (type === 'CREATE') {
      if (stack && stack.status !== 'REVIEW_IN_PROGRESS' && stack.status !== 'DELETE_COMPLETE') throw awsError('AlreadyExistsException', `Stack [${name}] already exists`);
      if (!stack || stack.status === 'DELETE_COMPLETE') {
        stack = this.newStack(name, 'REVIEW_IN_PROGRESS');
        this.event(stack, name, 'AWS::CloudFormation::Stack', 'REVIEW_IN_PROGRESS', 'User Initiated', true);
      }
    } else if (!stack || stack.status === 'DELETE_COMPLETE') {
      throw awsError('ValidationError', `Stack [${name}] does not exist`);
    }
    if (!(input.Capabilities as string[] | undefined)?.includes('CAPABILITY_NAMED_IAM')) throw awsError('InsufficientCapabilitiesException', 'Requires capabilities : [CAPABILITY_NAMED_IAM]');
    // Without Tags the stack keeps its own.
    if (input.Tags !== undefined) stack.tags = input.Tags as FakeStack['tags'];
    const body = (input.TemplateBody as string | undefined) ?? this.templateByUrl?.(input.TemplateURL as string);
    if (body === undefined) throw awsError('ValidationError', 'TemplateURL must be a supported URL');
    const template = JSON.parse(body) as { Resources: Record<string, { Type: string }> };
    const changes: Change[] = [];
    const before = stack.resources as Record<string, { Type: string }>;
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (!(id in before)) changes.push({ Type: 'Resource', ResourceChange: { Action: 'Add', LogicalResourceId: id, ResourceType: resource.Type } });
      else if (JSON.stringify(before[id]) !== JSON.stringify(resource)) {
        changes.push({
          Type: 'Resource',
          ResourceChange: { Action: 'Modify', LogicalResourceId: id, ResourceType: resource.Type, Replacement: 'False', Details: [{ Target: { Attribute: 'Properties', Name: 'Changed' } }] },
        });
      }
    }
    for (const [id, resource] of Object.entries(before)) {
      if (!(id in template.Resources)) changes.push({ Type: 'Resource', ResourceChange: { Action: 'Remove', LogicalResourceId: id, ResourceType: resource.Type } });
    }
    const id = `arn:aws:cloudformation:eu-west-1:123456789012:changeSet/${input.ChangeSetName as string}/${(this.seq += 1)}`;
    stack.changeSets.set(id, { id, type, template: template as unknown as Record<string, unknown>, body, changes, polls: 0 });
    return { Id: id, StackId: stack.id };
  }

  private describeChangeSet(input: Record<string, string>) {
    const stack = this.find(input.StackName!);
    const cs = stack?.changeSets.get(input.ChangeSetName!);
    if (!stack || !cs) throw awsError('ChangeSetNotFoundException', `ChangeSet [${input.ChangeSetName}] does not exist`);
    cs.polls += 1;
    if (cs.polls === 1 && !input.NextToken) return { ChangeSetId: cs.id, StackId: stack.id, Status: 'CREATE_IN_PROGRESS', ExecutionStatus: 'UNAVAILABLE' };
    if (cs.changes.length === 0) {
      return { ChangeSetId: cs.id, StackId: stack.id, Status: 'FAILED', ExecutionStatus: 'UNAVAILABLE', StatusReason: "The submitted information didn't contain changes. Submit different information to create a change set." };
    }
    const size = this.options.changesPageSize ?? 2;
    const start = Number(input.NextToken ?? 0);
    const next = start + size < cs.changes.length ? String(start + size) : undefined;
    return { ChangeSetId: cs.id, StackId: stack.id, Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Changes: cs.changes.slice(start, start + size), ...(next ? { NextToken: next } : {}) };
  }

  private execute(input: Record<string, string>) {
    const stack = this.find(input.StackName!);
    const cs = stack?.changeSets.get(input.ChangeSetName!);
    if (!stack || !cs) throw awsError('ChangeSetNotFoundException', 'no such change set');
    const verb = cs.type === 'CREATE' ? 'CREATE' : 'UPDATE';
    stack.status = `${verb}_IN_PROGRESS`;
    const template = cs.template as { Resources: Record<string, { Type: string }> };
    const steps: Array<() => void> = [];
    steps.push(() => this.event(stack, stack.name, 'AWS::CloudFormation::Stack', `${verb}_IN_PROGRESS`, 'User Initiated', true));
    let failed = false;
    const touched = cs.changes.map((c) => c.ResourceChange!).filter((rc) => rc.Action !== 'Remove');
    for (const rc of touched) {
      const id = rc.LogicalResourceId!;
      const type = rc.ResourceType!;
      const action = rc.Action === 'Add' ? 'CREATE' : 'UPDATE';
      const reason = this.failures.get(id);
      steps.push(() => {
        if (failed) return;
        this.event(stack, id, type, `${action}_IN_PROGRESS`);
        if (reason) {
          failed = true;
          this.failures.delete(id);
          this.event(stack, id, type, `${action}_FAILED`, reason);
        } else {
          this.event(stack, id, type, `${action}_COMPLETE`);
        }
      });
    }
    steps.push(() => {
      if (failed) {
        const rollback = verb === 'CREATE' ? 'ROLLBACK' : 'UPDATE_ROLLBACK';
        this.event(stack, stack.name, 'AWS::CloudFormation::Stack', `${rollback}_IN_PROGRESS`, 'The following resource(s) failed', true);
        for (const rc of touched.slice(0, 1)) this.event(stack, rc.LogicalResourceId!, rc.ResourceType!, verb === 'CREATE' ? 'DELETE_COMPLETE' : 'UPDATE_COMPLETE');
        stack.status = `${rollback}_COMPLETE`;
        if (verb === 'CREATE') stack.resources = {};
        this.event(stack, stack.name, 'AWS::CloudFormation::Stack', stack.status, undefined, true);
      } else {
        stack.status = `${verb}_COMPLETE`;
        stack.resources = JSON.parse(JSON.stringify(template.Resources)) as Record<string, unknown>;
        stack.body = cs.body;
        stack.outputs = { StackName: stack.name };
        this.event(stack, stack.name, 'AWS::CloudFormation::Stack', stack.status, undefined, true);
      }
    });
    this.steps.set(stack.id, steps);
    stack.changeSets.clear();
    return {};
  }

  private readonly steps = new Map<string, Array<() => void>>();

  private describeEvents(input: Record<string, string>) {
    const stack = this.find(input.StackName!);
    if (!stack || (stack.status === 'DELETE_COMPLETE' && stack.name === input.StackName)) throw awsError('ValidationError', `Stack [${input.StackName}] does not exist`);
    if (!input.NextToken) this.steps.get(stack.id)?.shift()?.();
    const newestFirst = [...stack.events].reverse();
    const size = this.options.eventsPageSize ?? 3;
    const start = Number(input.NextToken ?? 0);
    const next = start + size < newestFirst.length ? String(start + size) : undefined;
    return { StackEvents: newestFirst.slice(start, start + size), ...(next ? { NextToken: next } : {}) };
  }

  private deleteStack(nameOrId: string) {
    const stack = this.find(nameOrId);
    if (!stack || stack.status === 'DELETE_COMPLETE') return {};
    const failing = this.failures.get('*delete*');
    stack.status = 'DELETE_IN_PROGRESS';
    const steps: Array<() => void> = [
      () => this.event(stack, stack.name, 'AWS::CloudFormation::Stack', 'DELETE_IN_PROGRESS', 'User Initiated', true),
      ...Object.entries(stack.resources as Record<string, { Type: string }>).map(([id, r]) => () => {
        this.event(stack, id, r.Type, 'DELETE_IN_PROGRESS');
        this.event(stack, id, r.Type, failing && id === 'Table' ? 'DELETE_FAILED' : 'DELETE_COMPLETE', failing && id === 'Table' ? failing : undefined);
      }),
      () => {
        stack.status = failing ? 'DELETE_FAILED' : 'DELETE_COMPLETE';
        if (!failing) stack.resources = {};
        this.event(stack, stack.name, 'AWS::CloudFormation::Stack', stack.status, undefined, true);
      },
    ];
    this.steps.set(stack.id, steps);
    return {};
  }

  private listStacks(token: string | undefined) {
    const all = [...this.stacks.values()].sort((a, b) => a.name.localeCompare(b.name));
    const start = Number(token ?? 0);
    const size = 2;
    const next = start + size < all.length ? String(start + size) : undefined;
    return {
      StackSummaries: all.slice(start, start + size).map((s) => ({ StackId: s.id, StackName: s.name, StackStatus: s.status, CreationTime: new Date(0) })),
      ...(next ? { NextToken: next } : {}),
    };
  }
}

/** A tenant's template as a deploy renders it, with no extensions (what a deployed stack's GetTemplate answers). */
export function plainTenantTemplate(project: string, stage: string, tenant: string, tier: Tier, artifactSha256 = 'a'.repeat(64)) {
  return renderTenantStack({
    project,
    tenant,
    stage,
    tier,
    artifactSha256,
    extensions: [],
    runtimeConfig: { extensions: [], secrets: {}, config: {}, webhookSecret: `ssm:/${stage}/tenants/${tenant}/_sovereign/webhook_secret` },
  });
}

/** A sleep that returns at once and counts the waits. */
export function instantSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

type Item = Record<string, unknown>;

/**
 * A simulated DynamoDB behind the document client: Get, Put, Delete, Update, Query (paginated)
 * and TransactWrite, with the condition expressions the aws state writes evaluated for real.
 */
export class FakeDocumentTables {
  readonly tables = new Map<string, Map<string, Item>>();
  /** Items per Query page (default 2, to exercise pagination). */
  pageSize = 2;

  table(name: string): Map<string, Item> {
    let table = this.tables.get(name);
    if (!table) {
      table = new Map();
      this.tables.set(name, table);
    }
    return table;
  }

  /** Answers a mocked document client's Get, Put, Delete, Update, Query and TransactWrite from these tables. */
  serve(docs: AwsClientStub<DynamoDBDocumentClient>): void {
    docs.on(GetCommand).callsFake(async (input) => this.get(input));
    docs.on(PutCommand).callsFake(async (input) => this.put(input));
    docs.on(DeleteCommand).callsFake(async (input) => this.delete(input));
    docs.on(UpdateCommand).callsFake(async (input) => this.update(input));
    docs.on(QueryCommand).callsFake(async (input) => this.query(input));
    docs.on(TransactWriteCommand).callsFake(async (input) => this.transactWrite(input));
  }

  static key(pk: unknown, sk: unknown): string {
    return `${String(pk)}\u0000${String(sk)}`;
  }

  private conditionHolds(existing: Item | undefined, expression: string | undefined, values: Record<string, unknown> = {}, names: Record<string, string> = {}): boolean {
    if (!expression) return true;
    return expression.split(/\s+OR\s+/).some((part) => {
      const clause = part.trim();
      let m = /^attribute_not_exists\((\w+)\)$/.exec(clause);
      if (m) return existing === undefined || existing[m[1]!] === undefined;
      m = /^attribute_exists\((\w+)\)$/.exec(clause);
      if (m) return existing !== undefined && existing[m[1]!] !== undefined;
      m = /^([#\w]+)\s*(<=|=|<)\s*(:\w+)$/.exec(clause);
      if (m) {
        const attr = m[1]!.startsWith('#') ? names[m[1]!]! : m[1]!;
        const actual = existing?.[attr];
        const expected = values[m[3]!];
        if (actual === undefined) return false;
        if (m[2] === '=') return actual === expected;
        return m[2] === '<' ? (actual as number) < (expected as number) : (actual as number) <= (expected as number);
      }
      throw new Error(`fake DynamoDB does not understand the condition "${clause}"`);
    });
  }

  private conditionFailed(): Error {
    return awsError('ConditionalCheckFailedException', 'The conditional request failed');
  }

  get(input: { TableName: string; Key: Item }) {
    const item = this.table(input.TableName).get(FakeDocumentTables.key(input.Key.pk, input.Key.sk));
    return item ? { Item: structuredClone(item) } : {};
  }

  put(input: { TableName: string; Item: Item; ConditionExpression?: string; ExpressionAttributeValues?: Record<string, unknown>; ExpressionAttributeNames?: Record<string, string> }, dryRun = false) {
    const table = this.table(input.TableName);
    const key = FakeDocumentTables.key(input.Item.pk, input.Item.sk);
    if (!this.conditionHolds(table.get(key), input.ConditionExpression, input.ExpressionAttributeValues, input.ExpressionAttributeNames)) throw this.conditionFailed();
    if (!dryRun) table.set(key, structuredClone(input.Item));
    return {};
  }

  delete(input: { TableName: string; Key: Item; ConditionExpression?: string; ExpressionAttributeValues?: Record<string, unknown>; ExpressionAttributeNames?: Record<string, string> }, dryRun = false) {
    const table = this.table(input.TableName);
    const key = FakeDocumentTables.key(input.Key.pk, input.Key.sk);
    if (!this.conditionHolds(table.get(key), input.ConditionExpression, input.ExpressionAttributeValues, input.ExpressionAttributeNames)) throw this.conditionFailed();
    if (!dryRun) table.delete(key);
    return {};
  }

  update(input: { TableName: string; Key: Item; UpdateExpression: string; ConditionExpression?: string; ExpressionAttributeValues?: Record<string, unknown>; ExpressionAttributeNames?: Record<string, string> }) {
    const table = this.table(input.TableName);
    const key = FakeDocumentTables.key(input.Key.pk, input.Key.sk);
    const existing = table.get(key);
    if (!this.conditionHolds(existing, input.ConditionExpression, input.ExpressionAttributeValues, input.ExpressionAttributeNames)) throw this.conditionFailed();
    const m = /^SET (\w+) = (:\w+)$/.exec(input.UpdateExpression);
    if (!m) throw new Error(`fake DynamoDB does not understand "${input.UpdateExpression}"`);
    table.set(key, { ...(existing ?? input.Key), [m[1]!]: input.ExpressionAttributeValues![m[2]!] });
    return {};
  }

  query(input: { TableName: string; ExpressionAttributeValues: Record<string, unknown>; ScanIndexForward?: boolean; Limit?: number; ExclusiveStartKey?: Item }) {
    const pk = input.ExpressionAttributeValues[':pk'];
    let items = [...this.table(input.TableName).values()].filter((item) => item.pk === pk).sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
    if (input.ScanIndexForward === false) items.reverse();
    if (input.ExclusiveStartKey) {
      const at = items.findIndex((item) => item.sk === input.ExclusiveStartKey!.sk);
      items = items.slice(at + 1);
    }
    const size = Math.min(input.Limit ?? Infinity, this.pageSize);
    const page = items.slice(0, size);
    const more = items.length > size;
    return { Items: structuredClone(page), Count: page.length, ...(more ? { LastEvaluatedKey: { pk, sk: page[page.length - 1]!.sk } } : {}) };
  }

  transactWrite(input: { TransactItems: Array<{ Put?: Parameters<FakeDocumentTables['put']>[0]; Delete?: Parameters<FakeDocumentTables['delete']>[0] }> }) {
    const reasons = input.TransactItems.map((op) => {
      try {
        if (op.Put) this.put(op.Put, true);
        if (op.Delete) this.delete(op.Delete, true);
        return { Code: 'None' };
      } catch {
        return { Code: 'ConditionalCheckFailed' };
      }
    });
    if (reasons.some((r) => r.Code !== 'None')) {
      throw Object.assign(awsError('TransactionCanceledException', `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`), { CancellationReasons: reasons });
    }
    for (const op of input.TransactItems) {
      if (op.Put) this.put(op.Put);
      if (op.Delete) this.delete(op.Delete);
    }
    return {};
  }
}
