/**
 * The aws target: the registry and audit log in the control-plane tables of `sovereign bootstrap`,
 * one CloudFormation stack per tenant, secrets in SSM and Secrets Manager, figures and logs from
 * CloudWatch. One session per command: the caller identity is looked up once and the account,
 * region and stage are printed before the first change.
 */
import { awsConfigOf } from '../../config.js';
import { badInput } from '../../errors.js';
import { lazyTelemetrySource } from '../../telemetry/lazy.js';
import { tenantTags } from '../../templates/tenant-stack.js';
import type { Target, TargetHost } from '../target.js';
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
  const target: Target = {
    name: 'aws',
    state() {
      state ??= createAwsState(host.project(), host.globals, { out: host.out, session: sessionOf() });
      return state;
    },
    async deployer(options) {
      const { createAwsDeployer } = await import('./fleet.js');
      return createAwsDeployer(target.state(), host.project(), sessionOf(), { approve: (question) => host.confirm(question), log: options.log, ...(options.command ? { command: options.command } : {}) });
    },
    checkDeployPlan(records) {
      // Stack names come from the session's stage, templates from the record's: they must agree.
      const other = records.find((t) => t.stage !== host.globals.stage);
      if (other) throw badInput(`tenant "${other.id}" belongs to stage ${other.stage}, not ${host.globals.stage}`, `pass --stage ${other.stage}`);
    },
    async diff(record, build) {
      const { diffTenantOnAws } = await import('./diff.js');
      return diffTenantOnAws({ session: sessionOf(), tenant: record.id, template: build.template, tags: tenantTags(build.inputs) });
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
      const { record, result } = await offboardTenantOnAws(target.state(), {
        session: sessionOf(),
        tenant: request.tenant,
        ...(request.exportData ? { exportData: request.exportData } : {}),
        forceDeleteTable: request.forceDeleteTable,
        view: deferredView(host.out, `destroy ${request.tenant}`, 'stack'),
      });
      // What the table's backups and the logs were encrypted with goes too, after the stack (and the optional export).
      const [{ kmsClientFor }, { shredTenantKey }] = await Promise.all([import('./kms-client.js'), import('./shred.js')]);
      const aws = awsConfigOf(host.project().config);
      const shredded = await shredTenantKey(kmsClientFor(sessionOf().settings), { stage: host.globals.stage, tenant: request.tenant, tableKey: aws.tableKey, pendingWindowInDays: aws.keyDeletionWindowDays });
      host.out.info(shredded.shredded ? `key ${shredded.keyId} of ${request.tenant} is scheduled for deletion on ${shredded.deletionDate}` : (shredded.reason ?? 'no key was shredded'));
      return { record, stack: result.stack, existed: result.existed, exported: result.exported ? { path: result.exported.path, items: result.exported.items } : null };
    },
    async secrets(options) {
      const { awsSecretsPlumbing } = await import('./secrets.js');
      return awsSecretsPlumbing(host, sessionOf(), options);
    },
    async secretMetadata() {
      return { backend: () => undefined, unavailable: 'on the aws target rotation dates come from SSM and Secrets Manager, which were not queried' };
    },
    async apiKeys() {
      const { awsApiKeyStore } = await import('./api-keys.js');
      return awsApiKeyStore(sessionOf());
    },
    telemetry() {
      // Figures cover every deployed tenant of the stage.
      return lazyTelemetrySource(`no tenant of stage ${host.globals.stage} has been deployed to aws yet`, () =>
        import('./telemetry.js').then(({ awsTelemetry, createTelemetryClients }) =>
          awsTelemetry({ session: sessionOf(), state: target.state(), clients: createTelemetryClients(sessionOf().settings) }),
        ),
      );
    },
    async offboarding(options) {
      const { awsOffboardTarget } = await import('./offboard.js');
      const aws = awsConfigOf(host.project().config);
      return awsOffboardTarget({
        state: target.state(),
        session: sessionOf(),
        forceDeleteTable: options.forceDeleteTable,
        keys: { tableKey: aws.tableKey, pendingWindowInDays: aws.keyDeletionWindowDays },
      });
    },
    async scaleWarnings({ tiers, httpApis }) {
      const { scaleWarningsOnAws } = await import('./scale.js');
      return scaleWarningsOnAws({ cfn: sessionOf().clients.cloudformation }, host.globals.stage, tiers.length, tiers, { httpApis });
    },
    async isolation(records, options) {
      const [isolation, inputs] = await Promise.all([import('./isolation.js'), import('../../isolation/inputs.js')]);
      const [identity, region] = await Promise.all([sessionOf().identity(), sessionOf().region()]);
      const data = await inputs.isolationInputsFor(host.project(), records, { stage: host.globals.stage, account: identity.account, region });
      return isolation.isolationMatrixOnAws(sessionOf().clients.iam, data, options.only ? { only: options.only } : {});
    },
    async runSchedule(tenant, event) {
      const [{ runScheduleOnAws }, { lambdaClientFor }] = await Promise.all([import('./schedule-run.js'), import('./concurrency.js')]);
      await sessionOf().announce();
      return runScheduleOnAws(lambdaClientFor(sessionOf().settings), tenant, event);
    },
    assertServesLocally(command) {
      throw badInput(`\`sovereign ${command}\` runs the local target`, 'on aws, tenants run in their own stacks; use `--target local`');
    },
    async doctor() {
      const { awsDoctor } = await import('./doctor.js');
      return awsDoctor(sessionOf());
    },
  };
  return target;
}

