import { describe, expect, it } from 'vitest';
import { renderControlPlaneStack } from './control-plane.js';
import { artifactBucketName, tenantTableName } from './names.js';

type Json = Record<string, any>;

describe('renderControlPlaneStack', () => {
  it('matches the snapshot', () => {
    expect(renderControlPlaneStack({ project: 'shop', stage: 'prod' })).toMatchSnapshot();
  });

  it('locks the artifact bucket down', () => {
    const bucket = (renderControlPlaneStack({ project: 'shop', stage: 'prod' }) as Json).Resources.ArtifactBucket.Properties;
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(Object.values(bucket.PublicAccessBlockConfiguration)).toEqual([true, true, true, true]);
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
  });

  it('names tables so that no tenant table can collide with them', () => {
    const r = (renderControlPlaneStack({ project: 'shop', stage: 'prod' }) as Json).Resources;
    expect(r.TenantTable.Properties.TableName).toBe('sovereign_prod_tenants');
    expect(r.AuditTable.Properties.TableName).toBe('sovereign_prod_audit');
    expect(tenantTableName('prod', 'tenants')).not.toBe(r.TenantTable.Properties.TableName);
    expect(r.SecretsKeyAlias.Properties.AliasName).toBe('alias/sovereign-prod');
  });

  it('keeps the bucket name within 63 characters for the longest stage and region', () => {
    expect(artifactBucketName('abcdefghijkl', '123456789012', 'ap-southeast-4').length).toBeLessThanOrEqual(63);
  });
});
