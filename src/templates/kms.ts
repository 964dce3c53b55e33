/** KMS keys as template data: the stack's symmetric keys share one shape and one administrator. */
import { sub, tagList, type CfnResource } from './cfn.js';

/** A key policy statement: the account's principals (through IAM) may do `actions`. */
export function accountAllows(sid: string, actions: string | string[]): Record<string, unknown> {
  return { Sid: sid, Effect: 'Allow', Principal: { AWS: sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:root') }, Action: actions, Resource: '*' };
}

/**
 * A symmetric encrypt/decrypt key with yearly rotation, retained when its stack deletes or
 * replaces it (deleting a key is a decision of its own: see crypto-shredding in docs/aws.md). The
 * account administers it; `statements` say who else may use it.
 */
export function symmetricKey(options: { description: string; pendingWindowInDays: number; statements: unknown[]; tags: Record<string, string> }): CfnResource {
  return {
    Type: 'AWS::KMS::Key',
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: {
      Description: options.description,
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      EnableKeyRotation: true,
      PendingWindowInDays: options.pendingWindowInDays,
      KeyPolicy: {
        Version: '2012-10-17',
        Statement: [
          accountAllows('AccountAdministers', 'kms:*'),
          ...options.statements,
        ],
      },
      Tags: tagList(options.tags),
    },
  };
}

/**
 * CloudWatch Logs may use the key for the log groups `condition` names (the encryption context
 * Logs sends is the log group's ARN).
 */
export function logsMayUseKey(sid: string, condition: Record<string, Record<string, unknown>>) {
  return {
    Sid: sid,
    Effect: 'Allow',
    Principal: { Service: sub('logs.${AWS::Region}.${AWS::URLSuffix}') },
    Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
    Resource: '*',
    Condition: condition,
  };
}
