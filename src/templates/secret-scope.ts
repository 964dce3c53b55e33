/**
 * The tenant's secret scope as IAM name patterns, from the project's `"secrets"` configuration:
 * the same rules `secrets set` enforces on write are what the runtime role may read.
 */
import { resolveSecretsConfig, scopeRule } from '../secrets/scope.js';
import type { TenantSecretScope } from './policy.js';

export interface SecretScopeInputs {
  stage: string;
  tenant: string;
  /** Enabled extensions. */
  extensions: string[];
  /** The `"secrets"` section of `sovereign.config.json` (raw or resolved; defaults apply). */
  secretsConfig?: unknown;
  /** References the runtime reads beyond the extensions' (the rotation webhook's secret). */
  references?: string[];
}

export function tenantSecretScope(inputs: SecretScopeInputs): TenantSecretScope {
  const config = resolveSecretsConfig(inputs.secretsConfig);
  const ssm = new Set<string>();
  const secrets = new Set<string>();
  // A scope without {extension} is the same for every extension; with none enabled, one probe.
  const extensions = inputs.extensions.length > 0 ? inputs.extensions : ['_sovereign'];
  for (const extension of extensions) {
    const values = { stage: inputs.stage, tenant: inputs.tenant, extension };
    const ssmRule = scopeRule(config, 'ssm', values);
    ssm.add(ssmRule.match === 'prefix' ? `${ssmRule.value}*` : ssmRule.value);
    const secretRule = scopeRule(config, 'secretsmanager', values);
    secrets.add(secretRule.match === 'prefix' ? `${secretRule.value}*` : secretRule.value);
  }
  for (const reference of inputs.references ?? []) {
    if (reference.startsWith('ssm:')) {
      const name = reference.slice(4);
      if (![...ssm].some((pattern) => pattern.endsWith('*') && name.startsWith(pattern.slice(0, -1)))) ssm.add(name);
    }
  }
  return { ssmParameters: [...ssm].sort(), secrets: [...secrets].sort() };
}
