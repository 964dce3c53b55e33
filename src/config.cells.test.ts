import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';

const cell = (over: Record<string, unknown> = {}) => ({ name: 'eu-1', account: '111111111111', region: 'eu-west-1', deployRoleArn: 'arn:aws:iam::111111111111:role/sovereign-deploy', ...over });
const parse = (cells: unknown[]) => parseConfig(JSON.stringify({ project: 'demo', target: 'aws', cells }), 'sovereign.config.json');
const refusal = (cells: unknown[]): string => {
  try {
    parse(cells);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
};

describe('cells in config', () => {
  it('fills capacity with AWS default quotas', () => {
    const [parsed] = parse([cell({ residency: 'eu', externalId: 'sovereign-demo' })]).cells!;
    expect(parsed).toMatchObject({ name: 'eu-1', capacity: { stacks: 2000, httpApis: 600, concurrency: 1000 }, residency: 'eu', externalId: 'sovereign-demo' });
    expect(parse([cell({ capacity: { stacks: 500 } })]).cells![0]!.capacity).toEqual({ stacks: 500, httpApis: 600, concurrency: 1000 });
  });

  it('refuses a role in another account than the cell', () => {
    expect(refusal([cell({ deployRoleArn: 'arn:aws:iam::222222222222:role/sovereign-deploy' })])).toMatch(/cells\.0\.deployRoleArn: the deploy role must be in the cell's account/);
  });

  it('refuses duplicate names and two cells in one account and region', () => {
    expect(refusal([cell(), cell({ account: '222222222222', deployRoleArn: 'arn:aws:iam::222222222222:role/d' })])).toMatch(/cells\.1\.name: cell "eu-1" is declared twice/);
    expect(refusal([cell(), cell({ name: 'eu-2' })])).toMatch(/cells\.1\.region: cell "eu-2" has the account and region of cell "eu-1"/);
  });

  it('refuses malformed accounts, regions, roles and unknown keys', () => {
    expect(refusal([cell({ account: '1234' })])).toMatch(/cells\.0\.account: a 12-digit AWS account id/);
    expect(refusal([cell({ region: 'Europe' })])).toMatch(/cells\.0\.region: an AWS region/);
    expect(refusal([cell({ deployRoleArn: 'arn:aws:iam::111111111111:user/me' })])).toMatch(/cells\.0\.deployRoleArn: an IAM role ARN/);
    expect(refusal([cell({ capacity: { stacks: 0 } })])).toMatch(/cells\.0\.capacity\.stacks/);
    expect(refusal([cell({ accountId: '1' })])).toMatch(/unknown key "accountId"/);
  });
});
