/**
 * The control plane `sovereign bootstrap` creates once per stage and region: the artifact bucket,
 * the tenant registry and audit-event tables, and the stage's KMS key for secrets.
 */
import { TENANT_TABLE_KEY_SCHEMA } from '../runtime/table.js';
import { getAtt, ref, sub, tagList, type CfnTemplate } from './cfn.js';
import {
  artifactBucketNameSub,
  auditTableName,
  controlPlaneStackName,
  secretsKeyAlias,
  tenantRegistryTableName,
} from './names.js';

export const CONTROL_PLANE_TEMPLATE_VERSION = 1;

export interface ControlPlaneInputs {
  project: string;
  stage: string;
}

/** Key schema of both control-plane tables: the tenant tables' `pk` (S) hash, `sk` (S) range. */
export const CONTROL_PLANE_KEY_SCHEMA = TENANT_TABLE_KEY_SCHEMA;

/** Names of the outputs (also exported as `<stack>-<output>`). */
export const CONTROL_PLANE_OUTPUTS = ['ArtifactBucketName', 'TenantTableName', 'AuditTableName', 'SecretsKeyArn', 'SecretsKeyAlias'] as const;

function controlPlaneTable(name: string, tags: Record<string, string>) {
  return {
    Type: 'AWS::DynamoDB::Table',
    DeletionPolicy: 'Retain' as const,
    UpdateReplacePolicy: 'Retain' as const,
    Properties: {
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: CONTROL_PLANE_KEY_SCHEMA.AttributeDefinitions.map((d) => ({ ...d })),
      KeySchema: CONTROL_PLANE_KEY_SCHEMA.KeySchema.map((k) => ({ ...k })),
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: true,
      Tags: tagList(tags),
    },
  };
}

export function renderControlPlaneStack(inputs: ControlPlaneInputs): CfnTemplate {
  const { stage } = inputs;
  const stackName = controlPlaneStackName(stage);
  const tags = { 'sovereign:project': inputs.project, 'sovereign:stage': stage, 'sovereign:component': 'control-plane' };
  const exportName = (output: string) => ({ Name: `${stackName}-${output}` });

  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `sovereign control plane (stage ${stage})`,
    Metadata: { Sovereign: { templateVersion: CONTROL_PLANE_TEMPLATE_VERSION, project: inputs.project, stage } },
    Resources: {
      ArtifactBucket: {
        Type: 'AWS::S3::Bucket',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          BucketName: sub(artifactBucketNameSub(stage)),
          VersioningConfiguration: { Status: 'Enabled' },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
          },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          LifecycleConfiguration: {
            Rules: [
              {
                Id: 'expire-old-versions',
                Status: 'Enabled',
                NoncurrentVersionExpiration: { NoncurrentDays: 90 },
                AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
              },
            ],
          },
          Tags: tagList(tags),
        },
      },
      ArtifactBucketPolicy: {
        Type: 'AWS::S3::BucketPolicy',
        Properties: {
          Bucket: ref('ArtifactBucket'),
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'DenyInsecureTransport',
                Effect: 'Deny',
                Principal: '*',
                Action: 's3:*',
                Resource: [getAtt('ArtifactBucket', 'Arn'), sub('${ArtifactBucket.Arn}/*')],
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              },
            ],
          },
        },
      },
      TenantTable: controlPlaneTable(tenantRegistryTableName(stage), tags),
      AuditTable: controlPlaneTable(auditTableName(stage), tags),
      SecretsKey: {
        Type: 'AWS::KMS::Key',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          Description: `sovereign secrets (stage ${stage}): SSM SecureString parameters and Secrets Manager secrets`,
          KeySpec: 'SYMMETRIC_DEFAULT',
          KeyUsage: 'ENCRYPT_DECRYPT',
          EnableKeyRotation: true,
          PendingWindowInDays: 30,
          KeyPolicy: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'AccountAdministers',
                Effect: 'Allow',
                Principal: { AWS: sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:root') },
                Action: 'kms:*',
                Resource: '*',
              },
            ],
          },
          Tags: tagList(tags),
        },
      },
      SecretsKeyAlias: {
        Type: 'AWS::KMS::Alias',
        Properties: { AliasName: secretsKeyAlias(stage), TargetKeyId: ref('SecretsKey') },
      },
    },
    Outputs: {
      ArtifactBucketName: { Description: 'Bucket holding tenant artifacts', Value: ref('ArtifactBucket'), Export: exportName('ArtifactBucketName') },
      TenantTableName: { Description: 'Tenant registry table', Value: ref('TenantTable'), Export: exportName('TenantTableName') },
      AuditTableName: { Description: 'Audit event table', Value: ref('AuditTable'), Export: exportName('AuditTableName') },
      SecretsKeyArn: { Description: 'KMS key for tenant secrets', Value: getAtt('SecretsKey', 'Arn'), Export: exportName('SecretsKeyArn') },
      SecretsKeyAlias: { Description: 'Alias of the secrets key', Value: ref('SecretsKeyAlias'), Export: exportName('SecretsKeyAlias') },
    },
  };
}
