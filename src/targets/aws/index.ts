/**
 * The aws target: the registry and audit log in the control-plane tables of `sovereign bootstrap`,
 * one CloudFormation stack per tenant, secrets in SSM and Secrets Manager, figures and logs from
 * CloudWatch. One session per command: the caller identity is looked up once and the account,
 * region and stage are printed before the first change.
 */
import { awsConfigOf, type Cell } from '../../config.js';
import { badInput } from '../../errors.js';
import { lazyTelemetrySource } from '../../telemetry/lazy.js';
import { tenantTags } from '../../templates/tenant-stack.js';
import type { CellReport, Target, TargetHost } from '../target.js';
import type { TelemetrySource } from '../../telemetry/source.js';
import { resolveTenantAuth } from '../../contract/auth.js';
import { TIERS } from '../../templates/tiers.js';
import { requireTenant } from '../../tenants/tenants.js';
import { cellRefOf, cellSessions, checkCells, requireCell } from './cells.js';
import { deferredView } from './command-context.js';
import { openAwsSession, type AwsSession } from './session.js';
import { createAwsState, type AwsState } from './state.js';

export function createAwsTarget(host: TargetHost): Target {
  let session: AwsSession | undefined;
  let state: AwsState | undefined;
  const sessionOf = (): AwsSession => {
    session ??= openAwsSession({ project: host.project().config.project, stage: host.globals.stage, globals: host.globals, out: host.out });
    return session;
  };
  // A tenant's stack, table and keys are in its cell; the registry and audit log stay at home.
  const cells = cellSessions({ config: () => host.project().config, home: sessionOf, out: host.out });
  /** Refuses what does not reach into cells yet, rather than doing it in the home account. */
  const homeOnly = (record: { id: string; cell?: { name: string } | undefined }, command: string): void => {
    if (record.cell) throw badInput(`\`sovereign ${command}\` does not work in cells yet, and tenant "${record.id}" lives in cell ${record.cell.name}`, 'see docs/aws.md, "Cells", for what works in cells');
  };
  const measure = async (command: string): Promise<CellReport[]> => {
    const { measureCells } = await import('./cell-usage.js');
    const auth = host.project().config.auth;
    return measureCells({
      cells: host.project().config.cells ?? [],
      sessionFor: (cell) => cells.sessionForCell(cell, command),
      tenants: await target.state().listTenants(),
      // A tenant taking API keys has a second HTTP API (its machine API, templates/tenant-api.ts).
      httpApisOf: (tenant) => (resolveTenantAuth(auth, tenant).apiKeys ? 2 : 1),
    });
  };
  const target: Target = {
    name: 'aws',
    state() {
      state ??= createAwsState(host.project(), host.globals, { out: host.out, session: sessionOf(), sessionForTenant: (record) => cells.sessionForRecord(record, 'tenant change') });
      return state;
    },
    async deployer(options) {
      const { createAwsDeployer } = await import('./fleet.js');
      const command = options.command ?? 'tenant deploy';
      return createAwsDeployer(target.state(), host.project(), sessionOf(), {
        approve: (question) => host.confirm(question),
        log: options.log,
        command,
        sessionFor: (record) => cells.sessionForRecord(record, command),
      });
    },
    checkDeployPlan(records) {
      // Stack names come from the session's stage, templates from the record's: they must agree.
      const other = records.find((t) => t.stage !== host.globals.stage);
      if (other) throw badInput(`tenant "${other.id}" belongs to stage ${other.stage}, not ${host.globals.stage}`, `pass --stage ${other.stage}`);
      // A tenant whose cell the config no longer puts where its record says: refused before any deploy starts.
      for (const record of records) cells.sessionForRecord(record, 'tenant deploy');
    },
    async diff(record, build) {
      const { diffTenantOnAws } = await import('./diff.js');
      return diffTenantOnAws({ session: cells.sessionForRecord(record, 'tenant diff'), tenant: record.id, template: build.template, tags: tenantTags(build.inputs) });
    },
    destroys: 'its stack, table, function, API, role and log group, and schedules the deletion of its own KMS key',
    firstDeployAsks: 'its IAM role and policies (every first deploy creates them)',
    auditEvidence: {
      kind: 'cloud-account',
      records: `the control-plane tables, audit log and secret stores of stage ${host.globals.stage} in the AWS account of the exporting credentials`,
      isolation:
        "an offline evaluation, by sovereign's own IAM policy evaluator, of the runtime policies rendered from the project (those sovereign tenant deploy attaches to each tenant's runtime role), with the ARNs naming the placeholder account 000000000000; sovereign verify isolation on this target has IAM's policy simulator decide the same requests",
    },
    async destroy(request) {
      const { offboardTenantOnAws } = await import('./destroy.js');
      const where = cells.sessionForRecord(await requireTenant(target.state(), request.tenant), 'tenant destroy');
      const { record, result } = await offboardTenantOnAws(target.state(), {
        session: where,
        tenant: request.tenant,
        ...(request.exportData ? { exportData: request.exportData } : {}),
        forceDeleteTable: request.forceDeleteTable,
        view: deferredView(host.out, `destroy ${request.tenant}`, 'stack'),
      });
      // What the table's backups and the logs were encrypted with goes too, after the stack (and the optional export).
      const [{ kmsClientFor }, { shredTenantKey }] = await Promise.all([import('./kms-client.js'), import('./shred.js')]);
      const aws = awsConfigOf(host.project().config);
      const shredded = await shredTenantKey(kmsClientFor(where.settings), { stage: host.globals.stage, tenant: request.tenant, tableKey: aws.tableKey, pendingWindowInDays: aws.keyDeletionWindowDays });
      host.out.info(shredded.shredded ? `key ${shredded.keyId} of ${request.tenant} is scheduled for deletion on ${shredded.deletionDate}` : (shredded.reason ?? 'no key was shredded'));
      return { record, stack: result.stack, existed: result.existed, exported: result.exported ? { path: result.exported.path, items: result.exported.items } : null };
    },
    async secrets(options) {
      const { awsSecretsPlumbing } = await import('./secrets.js');
      return awsSecretsPlumbing(host, sessionOf(), { ...options, sessionFor: (record) => cells.sessionForRecord(record, 'secrets') });
    },
    async secretMetadata() {
      return { backend: () => undefined, unavailable: 'on the aws target rotation dates come from SSM and Secrets Manager, which were not queried' };
    },
    async apiKeys() {
      const { awsApiKeyStore } = await import('./api-keys.js');
      const store = awsApiKeyStore(sessionOf());
      return {
        records: async (tenant) => (homeOnly(tenant, 'tenant keys'), store.records(tenant)),
        lastUsed: async (tenant) => (homeOnly(tenant, 'tenant keys'), store.lastUsed(tenant)),
        stageCreate: (tx, tenant, record, current) => (homeOnly(tenant, 'tenant keys'), store.stageCreate(tx, tenant, record, current)),
        stageRevoke: (tx, tenant, record, current) => (homeOnly(tenant, 'tenant keys'), store.stageRevoke(tx, tenant, record, current)),
      };
    },
    telemetry() {
      // One source per session: a tenant's health and logs come from its cell; fleet figures from home.
      const sources = new Map<AwsSession, TelemetrySource>();
      const sourceOf = (where: AwsSession): TelemetrySource => {
        let source = sources.get(where);
        if (!source) {
          source = lazyTelemetrySource(`no tenant of stage ${host.globals.stage} has been deployed to aws yet`, () =>
            import('./telemetry.js').then(({ awsTelemetry, createTelemetryClients }) => awsTelemetry({ session: where, state: target.state(), clients: createTelemetryClients(where.settings) })),
          );
          sources.set(where, source);
        }
        return source;
      };
      const home = () => sourceOf(sessionOf());
      const forTenant = async (id: string) => {
        const record = await target.state().getTenant(id);
        return record ? sourceOf(cells.sessionForRecord(record, 'tenant telemetry')) : home();
      };
      return {
        unavailableHint: home().unavailableHint,
        figures: async (query) => (query?.tenants?.length === 1 ? await forTenant(query.tenants[0]!) : home()).figures(query),
        health: async (tenant) => (await forTenant(tenant)).health(tenant),
        logs: async (tenant, query) => (await forTenant(tenant)).logs(tenant, query),
        follow: async (tenant, query, onLine, signal) => (await forTenant(tenant)).follow!(tenant, query, onLine, signal),
      };
    },
    async offboarding(options) {
      const { awsOffboardTarget } = await import('./offboard.js');
      const aws = awsConfigOf(host.project().config);
      const offboard = awsOffboardTarget({
        state: target.state(),
        session: sessionOf(),
        forceDeleteTable: options.forceDeleteTable,
        keys: { tableKey: aws.tableKey, pendingWindowInDays: aws.keyDeletionWindowDays },
      });
      // A tenant in a cell is refused before anything changes: nothing is marked, released, exported or destroyed at home.
      return { ...offboard, admit: (record) => homeOnly(record, 'tenant offboard') };
    },
    async scaleWarnings({ tiers, httpApis }) {
      const { scaleWarningsOnAws } = await import('./scale.js');
      return scaleWarningsOnAws({ cfn: sessionOf().clients.cloudformation }, host.globals.stage, tiers.length, tiers, { httpApis });
    },
    async isolation(records, options) {
      for (const record of records) homeOnly(record, 'verify isolation');
      const [isolation, inputs] = await Promise.all([import('./isolation.js'), import('../../isolation/inputs.js')]);
      const [identity, region] = await Promise.all([sessionOf().identity(), sessionOf().region()]);
      const data = await inputs.isolationInputsFor(host.project(), records, { stage: host.globals.stage, account: identity.account, region });
      return isolation.isolationMatrixOnAws(sessionOf().clients.iam, data, options.only ? { only: options.only } : {});
    },
    async runSchedule(tenant, event) {
      homeOnly(tenant, 'tenant run');
      const [{ runScheduleOnAws }, { lambdaClientFor }] = await Promise.all([import('./schedule-run.js'), import('./concurrency.js')]);
      await sessionOf().announce();
      return runScheduleOnAws(lambdaClientFor(sessionOf().settings), tenant, event);
    },
    async placement(request) {
      let declared: Cell[] = [];
      try {
        declared = host.project().config.cells ?? [];
      } catch {
        // Outside a project (or with a broken config, which doctor's own checks report) there are no cells to check.
      }
      if (declared.length === 0 && request.cell === undefined && request.residency === undefined) return undefined;
      const { placeTenant } = await import('../../fleet/placement.js');
      const { placementCellOf } = await import('./cell-usage.js');
      const reports = declared.length === 0 ? [] : await measure('tenant create');
      const placed = placeTenant(reports.map(placementCellOf), {
        tenant: request.tenant,
        cell: request.cell,
        residency: request.residency,
        demand: { stacks: 1, httpApis: request.httpApis, concurrency: TIERS[request.tier].reservedConcurrency },
      });
      const cell = cellRefOf(requireCell(host.project().config, placed.name));
      host.out.info(`placing ${request.tenant} in cell ${cell.name} (account ${cell.account}, region ${cell.region})`);
      return cell;
    },
    // A fleet deploy runs the cells side by side (CloudFormation's limits are per account and region).
    cellOf: (record) => record.cell?.name,
    async cells() {
      if ((host.project().config.cells ?? []).length === 0) throw badInput('the project declares no cells', 'declare cells under "cells" in sovereign.config.json (docs/aws.md, "Cells")');
      const [reports, tenants] = await Promise.all([measure('cells list'), target.state().listTenants()]);
      return { cells: reports, home: tenants.filter((t) => !t.cell).map((t) => t.id).sort() };
    },
    assertServesLocally(command) {
      throw badInput(`\`sovereign ${command}\` runs the local target`, 'on aws, tenants run in their own stacks; use `--target local`');
    },
    async doctor() {
      const { awsDoctor } = await import('./doctor.js');
      const checks = await awsDoctor(sessionOf());
      const declared = host.project().config.cells ?? [];
      // Cells are reached with the home credentials: checked only once those work.
      if (declared.length === 0 || checks.some((c) => c.status === 'fail')) return checks;
      return [...checks, ...(await checkCells(declared, (cell) => cells.sessionForCell(cell, 'doctor')))];
    },
  };
  return target;
}

