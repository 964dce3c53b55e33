/** Small helpers for writing CloudFormation templates as plain data. */

export type CfnValue = unknown;

export interface CfnResource {
  Type: string;
  Properties: Record<string, CfnValue>;
  DependsOn?: string | string[];
  DeletionPolicy?: 'Delete' | 'Retain' | 'RetainExceptOnCreate' | 'Snapshot';
  UpdateReplacePolicy?: 'Delete' | 'Retain' | 'Snapshot';
}

export interface CfnOutput {
  Description: string;
  Value: CfnValue;
  Export?: { Name: string };
}

export interface CfnTemplate {
  AWSTemplateFormatVersion: '2010-09-09';
  Description: string;
  Metadata?: Record<string, CfnValue>;
  Resources: Record<string, CfnResource>;
  Outputs: Record<string, CfnOutput>;
}

export const ref = (logicalId: string) => ({ Ref: logicalId });
export const getAtt = (logicalId: string, attribute: string) => ({ 'Fn::GetAtt': [logicalId, attribute] });
export const sub = (text: string) => ({ 'Fn::Sub': text });

/** A CloudFormation tag list. */
export type TagList = Array<{ Key: string; Value: string }>;

export function tagList(tags: Record<string, string>): TagList {
  return Object.keys(tags)
    .sort()
    .map((Key) => ({ Key, Value: tags[Key] as string }));
}

const PSEUDO_PARAMETER = /\$\{AWS::(AccountId|Region|Partition|URLSuffix|StackName)\}/;

/**
 * Wraps every string holding a pseudo parameter (`${AWS::Region}` …) in `Fn::Sub`, escaping any
 * other `${` (IAM policy variables such as `${aws:username}`) as `${!` so `Fn::Sub` leaves it alone.
 */
export function withPseudoParameters<T>(value: T): T {
  if (typeof value === 'string') {
    if (!PSEUDO_PARAMETER.test(value)) return value;
    const escaped = value.replace(/\$\{(?!AWS::(AccountId|Region|Partition|URLSuffix|StackName)\})/g, '${!');
    return sub(escaped) as T;
  }
  if (Array.isArray(value)) return value.map((item) => withPseudoParameters(item)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = withPseudoParameters(item);
    return out as T;
  }
  return value;
}
