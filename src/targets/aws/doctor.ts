/**
 * The aws target's checks for `sovereign doctor`: the region the clients resolve (flag,
 * environment, config or profile), and who the credentials are, by asking STS
 * (GetCallerIdentity, through the session's real client: `--endpoint-url` / `AWS_ENDPOINT_URL`
 * apply as for every other command). Nothing is changed, and nothing but STS is called.
 */
import { ok, problem, type DoctorCheck } from '../../doctor/check.js';
import { environmentError, UserError } from '../../errors.js';
import type { AwsSession } from './session.js';

export async function awsDoctor(session: AwsSession): Promise<DoctorCheck[]> {
  let region: string;
  try {
    region = await session.region();
  } catch (error) {
    const explained = environmentError(error);
    return [
      problem('aws-region', 'fail', explained?.message ?? `the AWS region could not be resolved: ${(error as Error).message}`, explained?.hint ?? 'pass --region <name> or set AWS_REGION', 'aws'),
      problem('aws-credentials', 'warn', 'not checked: STS needs a region first', 'set the region, then run doctor again', 'aws'),
    ];
  }
  const endpoint = session.settings.endpoint ?? process.env.AWS_ENDPOINT_URL_STS ?? process.env.AWS_ENDPOINT_URL;
  const where = endpoint ? ` (endpoint ${endpoint})` : '';
  const checks = [ok('aws-region', `region ${region}${where}`)];
  try {
    const identity = await session.identity();
    checks.push(ok('aws-credentials', `account ${identity.account} as ${identity.arn}, stage ${session.stage}`));
  } catch (error) {
    // Missing or expired credentials name --profile (AWS_CREDENTIALS_HINT); a denial names the permissions.
    const explained = error instanceof UserError ? error : environmentError(error);
    if (explained) checks.push(problem('aws-credentials', 'fail', explained.message, explained.hint ?? 'check the credentials and the role they act as', 'aws'));
    else checks.push(problem('aws-credentials', 'fail', `STS could not be asked who you are: ${(error as Error).message}`, 'check the network path to AWS (or to --endpoint-url)', 'aws'));
  }
  return checks;
}
