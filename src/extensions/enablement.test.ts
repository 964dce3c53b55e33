import { describe, expect, it } from 'vitest';
import type { TenantRecord } from '../state/registry.js';
import { missingSecrets } from './enablement.js';

const record = (secrets: TenantRecord['secrets']): TenantRecord => ({
  id: 'acme', tier: 'basic', status: 'active', stage: 'prod', createdAt: 'x', createdBy: 'x', updatedAt: 'x',
  extensions: [], secrets, config: {}, deploys: [], transitions: [],
});

describe('missingSecrets', () => {
  const manifest = {
    name: 'avalara',
    secrets: [
      { key: 'account_id', description: 'id', required: true },
      { key: 'license_key', description: 'key', required: true },
      { key: 'webhook_token', description: 'optional', required: false },
    ],
  };

  it('lists required keys without a reference as exact secrets set commands in the tenant namespace', () => {
    expect(missingSecrets(record({}), manifest).map((m) => m.command)).toEqual([
      'sovereign secrets set acme avalara.account_id ssm:/prod/tenants/acme/avalara/account_id',
      'sovereign secrets set acme avalara.license_key ssm:/prod/tenants/acme/avalara/license_key',
    ]);
  });

  it('follows the project\'s SSM prefix', () => {
    const [first] = missingSecrets(record({}), manifest, { ssmPrefix: '/{stage}/customers/{tenant}/' });
    expect(first!.command).toBe('sovereign secrets set acme avalara.account_id ssm:/prod/customers/acme/avalara/account_id');
  });

  it('leaves out keys already set and optional keys', () => {
    const set = record({ 'avalara.license_key': { reference: 'secretsmanager:prod/tenants/acme/avalara:license_key', setAt: 'x', setBy: 'x' } });
    expect(missingSecrets(set, manifest).map((m) => m.key)).toEqual(['account_id']);
  });
});
