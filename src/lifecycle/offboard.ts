/**
 * Offboarding with retention, in this order, each step its own audited mutation:
 *
 * 1. `offboarding` (the runtime refuses extension routes; `sovereign dev` stops the tenant's process);
 * 2. the tenant's data exported to JSONL.gz (its table, read from its own dynalite) and a final
 *    signed audit bundle, both into the retention folder;
 * 3. the tenant destroyed (`destroyTenant`: record, key, vault, data);
 * 4. a signed deletion certificate naming what was deleted, when, by whom and the SHA-256 of what
 *    was kept, recorded as the `offboarding → deleted` transition in the audit log.
 *
 * An interrupted offboarding is resumed by running it again: a tenant already `offboarding`
 * continues at step 2.
 */
import { statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { packageVersion } from '../artifact/locate.js';
import { exportAuditBundle, fileTimestamp } from '../audit/export.js';
import { loadOrCreateSigningKey } from '../audit/signing.js';
import { localOffboardTarget } from '../targets/local/offboard.js';
import { localSecretMetadata } from '../targets/local/secret-store.js';
import { requireTenant } from '../tenants/tenants.js';
import { tenantKeyViews } from '../tenants/api-keys.js';
import type { TenantRecord } from '../state/registry.js';
import { transitionTenant, type LifecycleEnv } from './apply.js';
import { serializeCertificate, sha256, signCertificate, type CryptoShredding, type DeletionCertificate } from './certificate.js';
import type { DataExport } from '../tenants/table-export.js';

/** What differs between targets: who must let go of the tenant, how its data is exported and destroyed. */
export interface OffboardTarget {
  /** Throws when this target cannot offboard the tenant; called before anything changes. */
  admit?(record: TenantRecord): void;
  /** Waits until nothing serves the tenant's data any more. */
  release(record: TenantRecord): Promise<void>;
  exportData(record: TenantRecord, dir: string): Promise<DataExport>;
  /** Destroys the tenant (its own audited mutation); returns what no longer exists. */
  destroy(record: TenantRecord): Promise<string[]>;
  /** After the destroy: makes what is left encrypted under the tenant's own key unreadable (where the target has such a key). */
  shred?(record: TenantRecord): Promise<CryptoShredding>;
}

export interface OffboardOptions {
  tenant: string;
  /** Default: the local target (dev lets go, dynalite export, `destroyTenant`). */
  target?: OffboardTarget;
  /** Retention folder; default `.sovereign/retention/<tenant>-<timestamp>/`. */
  outDir?: string;
  reason?: string;
  command?: string;
  /** How long to wait for `sovereign dev` to stop the tenant's process (default 15 s). */
  devReleaseMs?: number;
  onStep?: (step: string, detail?: string) => void;
}

export interface OffboardResult {
  tenant: string;
  dir: string;
  dataExport: DataExport;
  auditBundle: { path: string; sha256: string; bytes: number };
  certificate: { path: string; sha256: string };
  deletedAt: string;
  deletedBy: string;
}

/** What is gone after a local offboarding. */
export async function offboardTenant(env: LifecycleEnv, options: OffboardOptions): Promise<OffboardResult> {
  const { state, project } = env;
  const target = options.target ?? localOffboardTarget(env, options.devReleaseMs === undefined ? {} : { devReleaseMs: options.devReleaseMs });
  const step = options.onStep ?? (() => undefined);
  const command = options.command ?? 'tenant offboard';
  let record = await requireTenant(state, options.tenant);
  target.admit?.(record);
  if (record.status !== 'offboarding') {
    const moved = await transitionTenant(env, {
      tenant: record.id,
      to: 'offboarding',
      command,
      action: 'tenant.offboard',
      ...(options.reason ? { reason: options.reason } : {}),
    });
    record = moved.record;
    step('offboarding', `${moved.from} → offboarding`);
  } else step('offboarding', 'continuing an offboarding already under way');

  await target.release(record);
  const now = env.now?.() ?? new Date();
  const dir = resolve(project.root, options.outDir ?? join(project.paths.state, 'retention', `${record.id}-${fileTimestamp(now)}`));

  const dataExport = await target.exportData(record, dir);
  step('data exported', `${dataExport.items} item(s) → ${dataExport.path}`);

  const { loadProjectExtensions, offlineIsolationMatrix } = await import('../audit/sources.js');
  const secrets = env.secretMetadata ?? localSecretMetadata(project);
  const bundle = await exportAuditBundle({
    state,
    project,
    tenant: record.id,
    target: env.target,
    ...(env.auditEvidence ? { evidence: env.auditEvidence } : {}),
    cwd: dir,
    out: join(dir, `${record.id}-audit-${fileTimestamp(now)}.tar.gz`),
    toolVersion: packageVersion(),
    loadExtensions: (names) => loadProjectExtensions(project, names),
    secretBackend: secrets.backend,
    isolationMatrix: offlineIsolationMatrix,
    ...(secrets.unavailable ? { secretBackendUnavailable: secrets.unavailable } : {}),
    ...(env.apiKeys ? { apiKeys: (tenant: TenantRecord) => tenantKeyViews(env.apiKeys!, tenant, now) } : {}),
  });
  step('audit bundle', bundle.path);

  const final = await requireTenant(state, record.id);
  const deleted = await target.destroy(final);
  step('destroyed', record.id);
  const cryptoShredding = await target.shred?.(final);
  if (cryptoShredding) step('crypto-shredding', cryptoShredding.shredded ? `key ${cryptoShredding.keyId} deleted on ${cryptoShredding.deletionDate}` : (cryptoShredding.reason ?? 'no key'));

  const certificatePath = join(dir, `${record.id}-deletion-certificate.json`);
  const deletedAt = (env.now?.() ?? new Date()).toISOString();
  const certificate = await state.mutate(
    {
      command,
      action: 'tenant.delete',
      tenant: record.id,
      args: {
        from: 'offboarding',
        to: 'deleted',
        dataExportSha256: dataExport.sha256,
        auditBundleSha256: bundle.sha256,
        ...(cryptoShredding ? { shreddedKeyId: cryptoShredding.keyId, keyDeletionDate: cryptoShredding.deletionDate } : {}),
      },
    },
    async (tx) => {
      const key = loadOrCreateSigningKey(project.paths.keys);
      const signed: DeletionCertificate = signCertificate(
        {
          format: 'sovereign-deletion-certificate',
          version: 1,
          project: project.config.project,
          stage: final.stage,
          target: env.target,
          tenant: final.id,
          tier: final.tier,
          deletedAt,
          deletedBy: state.actor,
          reason: options.reason ?? null,
          deleted,
          ...(cryptoShredding ? { cryptoShredding } : {}),
          retained: {
            dataExport: { file: basename(dataExport.path), sha256: dataExport.sha256, bytes: statSync(dataExport.path).size, items: dataExport.items, table: dataExport.table },
            auditBundle: { file: basename(bundle.path), sha256: bundle.sha256, bytes: bundle.size },
          },
          transitions: [...final.transitions, { from: 'offboarding', to: 'deleted', at: deletedAt, by: state.actor, ...(options.reason ? { reason: options.reason } : {}) }],
        },
        key,
      );
      const text = serializeCertificate(signed);
      tx.write(certificatePath, text, 0o644);
      tx.eventArgs.certificateSha256 = sha256(text);
      tx.eventArgs.signer = key.fingerprint;
      return { text };
    },
  );
  step('certificate', certificatePath);
  return {
    tenant: record.id,
    dir,
    dataExport,
    auditBundle: { path: bundle.path, sha256: bundle.sha256, bytes: bundle.size },
    certificate: { path: certificatePath, sha256: sha256(certificate.text) },
    deletedAt,
    deletedBy: state.actor,
  };
}
