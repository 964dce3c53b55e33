/**
 * The local target: tenants run as processes of `sovereign dev` on this machine, and the project's
 * state (registry, audit log, keys, vaults, data) lives in `.sovereign/`. Nothing here loads an AWS
 * client except the tenant-table export, which reads the tenant's own dynalite store.
 */
import { lazyTelemetrySource } from '../../telemetry/lazy.js';
import { destroyTenant } from '../../tenants/tenants.js';
import { badInput } from '../../errors.js';
import type { Target, TargetHost } from '../target.js';
import { LocalState } from './state.js';

/** Regional quotas matter only for a fleet heading to aws; the smallest (600 HTTP APIs) warns from 480. */
const SCALE_CHECK_FROM = 400;

export function createLocalTarget(host: TargetHost): Target {
  let state: LocalState | undefined;
  const target: Target = {
    name: 'local',
    state() {
      state ??= new LocalState(host.project(), { stage: host.globals.stage });
      return state;
    },
    async deployer(options) {
      const { createLocalDeployer } = await import('./deploy.js');
      return createLocalDeployer(target.state(), host.project(), options.command ? { command: options.command } : {});
    },
    checkDeployPlan() {
      // Every local tenant builds and runs here whatever its stage.
    },
    async diff(record, build) {
      const [{ diffLocalDeploy }, { templateSha256 }] = await Promise.all([import('./diff.js'), import('../diff.js')]);
      return diffLocalDeploy(record.id, record.deploys, { artifact: build.artifact.sha256, extensions: record.extensions, templateSha256: templateSha256(build.template) });
    },
    destroys: 'its state, keys, secrets vault and data',
    firstDeployAsks: undefined,
    auditEvidence: {
      kind: 'offline',
      records: "the project's .sovereign/ folder on the machine that exported the bundle (the local target: tenants run as processes of sovereign dev, no cloud account is involved)",
      isolation:
        "an offline evaluation, by sovereign's own IAM policy evaluator on the exporting machine, of the runtime policies rendered from the project; nothing was deployed or asked of AWS, and the ARNs name the placeholder account 000000000000",
    },
    async destroy(request) {
      if (request.exportData || request.forceDeleteTable) host.out.warn('--export-data and --force-delete-table apply to the aws target; the local tenant\'s data folder is removed');
      const record = await destroyTenant(target.state(), request.tenant);
      return { record, stack: null, existed: true, exported: null };
    },
    async secrets() {
      const { localSecretsPlumbing } = await import('./secrets.js');
      return localSecretsPlumbing(host.project());
    },
    async secretMetadata() {
      const { localSecretMetadata } = await import('./secret-store.js');
      return localSecretMetadata(host.project());
    },
    async apiKeys() {
      const { localApiKeyStore } = await import('./api-keys.js');
      return localApiKeyStore(host.project());
    },
    telemetry() {
      return lazyTelemetrySource('start `sovereign dev` in this project: runtime figures come from its gateway', () =>
        import('./telemetry.js').then(({ localTelemetry }) => localTelemetry(host.project())),
      );
    },
    async offboarding() {
      const { localOffboardTarget } = await import('./offboard.js');
      return localOffboardTarget({ state: target.state(), project: host.project(), target: 'local' });
    },
    async scaleWarnings({ tiers, httpApis }) {
      if (tiers.length < SCALE_CHECK_FROM) return [];
      const { scaleWarnings } = await import('../../fleet/scale.js');
      return scaleWarnings(tiers.length, tiers, { httpApis });
    },
    async isolation(records, options) {
      const [isolation, inputs] = await Promise.all([import('../../isolation/matrix.js'), import('../../isolation/inputs.js')]);
      const data = await inputs.isolationInputsFor(host.project(), records, { stage: host.globals.stage, account: inputs.OFFLINE_ACCOUNT, region: host.globals.region ?? inputs.OFFLINE_REGION });
      return isolation.isolationMatrix(data, options.only ? { only: options.only } : {});
    },
    async runSchedule(tenant, event) {
      const { runScheduleThroughDev } = await import('./dev/scheduler-invoke.js');
      return runScheduleThroughDev(host.project(), tenant.id, event);
    },
    assertServesLocally() {
      // `sovereign dev` is this target's host.
    },
    async placement(request) {
      // Asked for a place local has not got: refused, never ignored.
      if (request.cell !== undefined || request.residency !== undefined) {
        throw badInput(`the local target has no cells: ${request.cell !== undefined ? '--cell' : '--residency'} places tenants in aws accounts and regions`, 'drop the option, or pass --target aws in a project that declares "cells"');
      }
      return undefined;
    },
    async cells() {
      throw badInput('the local target has no cells', 'cells are aws accounts and regions: pass --target aws in a project that declares "cells"');
    },
    async doctor(options) {
      const { localDoctor } = await import('./doctor.js');
      return localDoctor(host.project(), options);
    },
  };
  return target;
}
