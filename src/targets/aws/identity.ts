/**
 * Who is acting on aws: the STS caller identity. Its ARN is the actor of audit events; its account,
 * with the region and stage, is printed before any mutation.
 */
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { explainAwsError } from './errors.js';

export interface CallerIdentity {
  account: string;
  /** `arn:aws:sts::123456789012:assumed-role/deployer/ci-run-42` */
  arn: string;
  userId: string;
}

export async function getCallerIdentity(sts: STSClient): Promise<CallerIdentity> {
  try {
    const answer = await sts.send(new GetCallerIdentityCommand({}));
    if (!answer.Account || !answer.Arn) throw new Error('GetCallerIdentity answered without an account or ARN');
    return { account: answer.Account, arn: answer.Arn, userId: answer.UserId ?? '' };
  } catch (error) {
    throw explainAwsError(error, 'finding out who you are (sts:GetCallerIdentity)');
  }
}

/** The line printed (stderr) before any mutation on aws. */
export function describeTarget(identity: CallerIdentity, region: string, stage: string, cell?: string): string {
  return `aws account ${identity.account}, region ${region}, ${cell ? `cell ${cell}, ` : ''}stage ${stage} (as ${identity.arn})`;
}
