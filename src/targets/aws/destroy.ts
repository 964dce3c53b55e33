/**
 * `tenant destroy` on aws: optionally export the tenant's table first (every item, paginated, as
 * DynamoDB-JSON lines, gzipped), lift the table's deletion protection only when asked to, then
 * delete the stack and follow it until it is gone.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeTableCommand, ScanCommand, UpdateTableCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { ExitCode, UserError, conflict } from '../../errors.js';
import type { LiveView } from '../../output/live.js';
import type { TenantRecord } from '../../state/registry.js';
import type { StateStore } from '../../state/store.js';
import { requireTenant } from '../../tenants/tenants.js';
import { tenantStackName, tenantTableName } from '../../templates/names.js';
import { awsFailure, withBackoff } from './errors.js';
import type { AwsSession } from './session.js';
import { scanPages, writeTableExport, type ScanPage } from '../../tenants/table-export.js';
import { deleteStackAndWait, describeStack, isInProgress, type StackIo } from './stack.js';

export interface DestroyTenantOnAwsOptions {
  session: AwsSession;
  tenant: string;
  /** Folder to export the table to before anything is deleted. */
  exportData?: string;
  /** Lift the table's deletion protection (stages other than dev have it). */
  forceDeleteTable?: boolean;
  view?: LiveView;
  log?: (line: string) => void;
  pollMs?: number;
}

export interface TableExport {
  path: string;
  items: number;
  bytes: number;
}

export interface DestroyOnAwsResult {
  stack: string;
  /** false when there was no stack to delete. */
  existed: boolean;
  exported?: TableExport;
  tableProtectionRemoved: boolean;
}

async function describeTable(session: AwsSession, table: string) {
  try {
    const answer = await withBackoff(() => session.clients.dynamodb.send(new DescribeTableCommand({ TableName: table })), { sleep: session.sleep });
    return answer.Table;
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw awsFailure(error, `describing table ${table}`);
  }
}

/** Scans the whole table (consistent reads, paginated) into `<dir>/<table>-<time>.jsonl.gz`. */
export async function exportTable(session: AwsSession, table: string, dir: string): Promise<TableExport> {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date(session.now()).toISOString().replace(/[:.]/g, '-');
  const path = join(dir, `${table}-${stamp}.jsonl.gz`);
  const dynamodb = session.clients.dynamodb;
  const pages = scanPages(async (start) => {
    try {
      return (await withBackoff(
        () => dynamodb.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start as Record<string, AttributeValue> } : {}) })),
        { sleep: session.sleep },
      )) as ScanPage;
    } catch (error) {
      throw awsFailure(error, `exporting table ${table}`);
    }
  });
  const { items, bytes } = await writeTableExport(path, pages);
  return { path, items, bytes };
}

export async function destroyTenantOnAws(options: DestroyTenantOnAwsOptions): Promise<DestroyOnAwsResult> {
  const { session, tenant } = options;
  await session.announce();
  const stackName = tenantStackName(session.stage, tenant);
  const table = tenantTableName(session.stage, tenant);
  const io: StackIo = {
    cfn: session.clients.cloudformation,
    sleep: session.sleep,
    now: session.now,
    ...(options.view ? { view: options.view } : {}),
    ...(options.log ? { onThrottled: options.log } : {}),
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
  };
  const stack = await describeStack(io, stackName);
  if (stack && isInProgress(stack.StackStatus)) throw conflict(`stack ${stackName} is busy (${stack.StackStatus})`, 'wait for it to finish, then destroy again');
  const description = await describeTable(session, table);
  const isProtected = description?.DeletionProtectionEnabled === true;
  if (isProtected && !options.forceDeleteTable) {
    throw new UserError(`table ${table} is deletion-protected; nothing was deleted`, {
      exitCode: ExitCode.badInput,
      hint: `pass --force-delete-table to delete it with the stack${options.exportData ? '' : ' (and --export-data <dir> to keep a copy)'}`,
    });
  }
  const result: DestroyOnAwsResult = { stack: stackName, existed: stack !== undefined, tableProtectionRemoved: false };
  if (options.exportData && description) {
    result.exported = await exportTable(session, table, options.exportData);
    options.log?.(`exported ${result.exported.items} item(s) of ${table} to ${result.exported.path}`);
  }
  if (isProtected) {
    try {
      await withBackoff(() => session.clients.dynamodb.send(new UpdateTableCommand({ TableName: table, DeletionProtectionEnabled: false })), { sleep: session.sleep });
    } catch (error) {
      throw awsFailure(error, `lifting the deletion protection of ${table}`);
    }
    result.tableProtectionRemoved = true;
    options.log?.(`deletion protection of ${table} lifted`);
  }
  if (stack) await deleteStackAndWait(io, stack);
  return result;
}

/**
 * `tenant destroy` on aws as one audited mutation: the stack goes (after the optional export),
 * then the tenant's record; a failure is recorded in the audit chain, a refusal (exit 2) is not.
 */
export async function offboardTenantOnAws(state: StateStore, options: DestroyTenantOnAwsOptions): Promise<{ record: TenantRecord; result: DestroyOnAwsResult }> {
  return state.mutate(
    { command: 'tenant destroy', action: 'tenant.destroy', tenant: options.tenant, args: { target: 'aws', exportData: options.exportData !== undefined, forceDeleteTable: options.forceDeleteTable === true } },
    async (tx) => {
      const record = await requireTenant(state, options.tenant);
      const result = await destroyTenantOnAws(options);
      tx.deleteTenant(options.tenant);
      Object.assign(tx.eventArgs, {
        stack: result.stack,
        stackExisted: result.existed,
        tableProtectionRemoved: result.tableProtectionRemoved,
        ...(result.exported ? { exportedItems: result.exported.items } : {}),
      });
      return { record, result };
    },
  );
}
