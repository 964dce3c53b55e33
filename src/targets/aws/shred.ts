/**
 * Crypto-shredding on aws: once a tenant's data is exported and its stack deleted, the tenant's
 * own KMS key (retained by the stack with its alias) is scheduled for deletion. When KMS deletes
 * it, whatever was encrypted under it — point-in-time backups of the table, log events, any copy
 * left behind — can no longer be decrypted by anyone. The pending window (7–30 days) is the last
 * chance to cancel; the deletion certificate records the key and the date.
 *
 * A tenant on the stage's data key (`aws.tableKey: "stage"`) has no key of its own: nothing is
 * shredded, and the certificate says so.
 */
import { DeleteAliasCommand, DescribeKeyCommand, ScheduleKeyDeletionCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { CryptoShredding } from '../../lifecycle/certificate.js';
import { stageDataKeyAlias, tenantDataKeyAlias } from '../../templates/names.js';
import type { TableKeyMode } from '../../templates/tenant-stack.js';
import { awsFailure } from './errors.js';

export interface ShredOptions {
  stage: string;
  tenant: string;
  tableKey: TableKeyMode;
  /** KMS's waiting period before the key is deleted (7–30 days). */
  pendingWindowInDays: number;
}

const errorName = (error: unknown) => (error as { name?: string })?.name;

/** Schedules the deletion of the tenant's own key and removes its alias; safe to run again. */
export async function shredTenantKey(kms: KMSClient, options: ShredOptions): Promise<CryptoShredding> {
  const alias = tenantDataKeyAlias(options.stage, options.tenant);
  let metadata;
  try {
    metadata = (await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata;
  } catch (error) {
    if (errorName(error) !== 'NotFoundException') throw awsFailure(error, `describing the key ${alias}`);
  }
  if (!metadata?.KeyId && options.tableKey === 'stage') {
    return { shredded: false, keyId: null, deletionDate: null, reason: `the table and log group used the stage's data key (${stageDataKeyAlias(options.stage)}), which other tenants share; no key was shredded` };
  }
  if (!metadata?.KeyId) {
    return { shredded: false, keyId: null, deletionDate: null, reason: `no key ${alias} was found (a stack from before per-tenant keys, or already removed); no key was shredded` };
  }
  let deletionDate = metadata.DeletionDate;
  if (metadata.KeyState !== 'PendingDeletion') {
    try {
      const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: metadata.KeyId, PendingWindowInDays: options.pendingWindowInDays }));
      deletionDate = scheduled.DeletionDate;
    } catch (error) {
      throw awsFailure(error, `scheduling the deletion of key ${metadata.KeyId}`);
    }
  }
  try {
    await kms.send(new DeleteAliasCommand({ AliasName: alias }));
  } catch (error) {
    if (errorName(error) !== 'NotFoundException') throw awsFailure(error, `deleting the alias ${alias}`);
  }
  return {
    shredded: true,
    keyId: metadata.KeyId,
    ...(metadata.Arn ? { keyArn: metadata.Arn } : {}),
    deletionDate: deletionDate ? deletionDate.toISOString() : null,
    reason: null,
  };
}
