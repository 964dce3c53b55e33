import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTenantRuntimeConfig, serializeTenantRuntimeConfig, webhookSecretReference, type TenantRuntimeConfig } from './tenant-runtime-config.js';

const extension = fc.stringMatching(/^[a-z][a-z0-9]{1,8}$/);
const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);

function read(text: string): { config: TenantRuntimeConfig; problems: string[] } {
  const problems: string[] = [];
  return { config: parseTenantRuntimeConfig(text, problems), problems };
}

describe('tenant runtime configuration', () => {
  it('reads back what it prints, with extensions and secret mappings sorted', () => {
    fc.assert(fc.property(fc.uniqueArray(extension, { maxLength: 4 }), fc.uniqueArray(fc.tuple(extension, key), { maxLength: 4, selector: ([e, k]) => `${e}.${k}` }), (extensions, mappings) => {
      const config: TenantRuntimeConfig = {
        extensions,
        secrets: Object.fromEntries(mappings.map(([e, k]) => [`${e}.${k}`, `ssm:/dev/tenants/acme/${e}/${k}`])),
        config: Object.fromEntries(extensions.map((e) => [e, { on: true }])),
        webhookSecret: webhookSecretReference('dev', 'acme'),
      };
      const text = serializeTenantRuntimeConfig(config);
      const { config: back, problems } = read(text);
      expect(problems).toEqual([]);
      expect(back).toEqual({ ...config, extensions: [...extensions].sort() });
      expect(Object.keys(back.secrets)).toEqual(Object.keys(config.secrets).sort());
      expect(serializeTenantRuntimeConfig(back)).toBe(text);
    }));
  });

  it('prints the members in a fixed order', () => {
    expect(serializeTenantRuntimeConfig({ webhookSecret: 'ssm:/w', config: {}, secrets: { 'b.k': 'ssm:/b', 'a.k': 'ssm:/a' }, extensions: ['b', 'a'] } as TenantRuntimeConfig))
      .toBe('{"extensions":["a","b"],"secrets":{"a.k":"ssm:/a","b.k":"ssm:/b"},"config":{},"webhookSecret":"ssm:/w"}');
  });

  it('lists every problem and never a value', () => {
    const { problems } = read(JSON.stringify({
      extensions: ['ok', 'Bad', 'ok'], secrets: { 'a.b.c': 'ssm:/x', 'avalara.key': 'hunter2', 'avalara.n': 3 }, config: { 'x_y': {} }, webhookSecret: 'hunter2', extra: 1,
    }));
    expect(problems).toEqual(expect.arrayContaining([
      'SOVEREIGN_TENANT_CONFIG has unknown key "extra"',
      'SOVEREIGN_TENANT_CONFIG.extensions: "Bad" is not an extension name',
      'SOVEREIGN_TENANT_CONFIG.extensions lists "ok" twice',
      'SOVEREIGN_TENANT_CONFIG.secrets: "a.b.c" is not "<extension>.<key>"',
      'SOVEREIGN_TENANT_CONFIG.secrets["avalara.n"] must be a reference string',
      'SOVEREIGN_TENANT_CONFIG.config: "x_y" is not an extension name',
    ]));
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(read('[]').problems).toEqual(['SOVEREIGN_TENANT_CONFIG must be a JSON object']);
  });

  it('puts the webhook secret in the tenant\'s own SSM namespace', () => {
    expect(webhookSecretReference('prod', 'globex')).toBe('ssm:/prod/tenants/globex/_sovereign/webhook_secret');
  });
});
