import { describe, expect, it } from 'vitest';
import type { DeployRecord, TenantRecord } from '../state/registry.js';
import { withDeploy } from './record.js';

const tenant = (deploys: DeployRecord[]): TenantRecord => ({
  id: 'acme', tier: 'basic', status: 'active', stage: 'dev', createdAt: 't', createdBy: 'u', updatedAt: 't',
  extensions: [], secrets: {}, config: {}, deploys, transitions: [],
});
const deploy = (auth?: DeployRecord['auth'], outcome: DeployRecord['outcome'] = 'success'): DeployRecord => ({
  at: '2026-12-07T00:00:00.000Z', by: 'u', target: 'local', artifact: 'a', extensions: [], outcome, ...(auth ? { auth } : {}),
});
const shared = { issuers: ['https://idp/'], audiences: ['api'], tenantClaim: 'tenant_id', apiKeys: true };

describe('a deploy records who may call the tenant', () => {
  it('puts the rules in the event and says when they changed since the last successful deploy', () => {
    const first: Record<string, unknown> = {};
    const after = withDeploy(first, tenant([]), deploy(shared));
    expect(first).toMatchObject({ auth: shared, authChanged: { from: null, to: shared } });

    const same: Record<string, unknown> = {};
    const again = withDeploy(same, after, deploy(shared));
    expect(same.auth).toEqual(shared);
    expect(same).not.toHaveProperty('authChanged');

    const closed = { ...shared, apiKeys: false };
    const changed: Record<string, unknown> = {};
    withDeploy(changed, withDeploy({}, again, deploy(undefined, 'failure')), deploy(closed));
    expect(changed.authChanged).toEqual({ from: shared, to: closed });
  });
});
