import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { projectPaths, type Project } from '../project.js';
import { configSchema } from '../config.js';
import { tenantRuntimeConfig } from '../targets/local/dev/launch.js';
import { loadRuntimeConfig } from '../runtime/config.js';
import { parseMappingKey } from '../secrets/shared.js';
import { newTenantRecord } from '../tenants/tenants.js';
import { EXTENSION_NAME_LENGTH, isExtensionName, isSecretKey } from './names.js';
import { formatSecretMapping, parseSecretMapping, secretMappingExtension } from './secret-mapping.js';

const extensionName = fc
  .stringMatching(/^[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,6}){0,3}$/)
  .filter((name) => name.length >= EXTENSION_NAME_LENGTH.min && name.length <= EXTENSION_NAME_LENGTH.max);
const secretKey = fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/);

describe('parseSecretMapping / formatSecretMapping', () => {
  it('reads "<extension>.<key>"', () => {
    expect(parseSecretMapping('avalara.license_key')).toEqual({ ok: true, mapping: { extension: 'avalara', key: 'license_key' } });
    expect(parseSecretMapping('avalara-cetec-sync.cetec_api_token')).toEqual({ ok: true, mapping: { extension: 'avalara-cetec-sync', key: 'cetec_api_token' } });
    expect(formatSecretMapping({ extension: 'avalara', key: 'license_key' })).toBe('avalara.license_key');
  });

  it('format ∘ parse is the identity over valid names, and parse ∘ format too', () => {
    fc.assert(fc.property(extensionName, secretKey, (extension, key) => {
      const text = `${extension}.${key}`;
      const parsed = parseSecretMapping(text);
      expect(parsed).toEqual({ ok: true, mapping: { extension, key } });
      if (parsed.ok) expect(formatSecretMapping(parsed.mapping)).toBe(text);
      expect(parseSecretMapping(formatSecretMapping({ extension, key }))).toEqual(parsed);
    }));
  });

  it('accepts exactly the texts whose two parts are a valid extension name and a valid secret key', () => {
    fc.assert(fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (left, right) => {
      const valid = isExtensionName(left) && isSecretKey(right);
      expect(parseSecretMapping(`${left}.${right}`).ok).toBe(valid);
    }));
  });

  it('refuses text with no "." or more than one, an empty part, or a bad name', () => {
    for (const text of ['', 'avalara', '.license_key', 'avalara.', 'a.b.c', 'avalara.license.key', 'Avalara.key', 'avalara.license-key', 'a.key']) {
      expect({ text, ok: parseSecretMapping(text).ok }).toEqual({ text, ok: false });
    }
    expect(parseSecretMapping('avalara.license.key')).toMatchObject({ problem: expect.stringMatching(/more than one "\."/) });
    expect(parseSecretMapping('ava_lara.key')).toMatchObject({ problem: expect.stringMatching(/^extension name "ava_lara" has "_"/) });
    expect(parseSecretMapping('avalara.Key')).toMatchObject({ problem: 'secret key "Key" is not valid' });
  });

  // Before: the CLI split at the last ".", the runtime refused more than one, and the local
  // launcher took what came before the first — "avalara.license.key" was three different things.
  it('is read the same way by the CLI, the local launcher and the runtime', () => {
    const texts = ['avalara.license_key', 'avalara.license.key', 'avalara.', '.key', 'avalara'];
    const project: Project = { root: '/p', config: configSchema.parse({ project: 'demo' }), paths: projectPaths('/p') };
    const record = newTenantRecord({ id: 'acme', tier: 'basic', stage: 'dev', extensions: ['avalara'], by: 'test', now: '2026-01-01T00:00:00.000Z' });
    record.secrets = Object.fromEntries(texts.map((text) => [text, { reference: 'ssm:/dev/tenants/acme/avalara/license_key', setAt: '', setBy: '' }]));
    const launched = tenantRuntimeConfig(project, record);
    const runtimeProblems = (text: string): boolean => {
      const tenantConfig = { extensions: ['avalara'], secrets: { [text]: 'ssm:/dev/tenants/acme/avalara/license_key' }, config: {}, webhookSecret: launched.webhookSecret };
      try {
        loadRuntimeConfig({ SOVEREIGN_TENANT: 'acme', SOVEREIGN_STAGE: 'dev', SOVEREIGN_TABLE: 't', SOVEREIGN_TENANT_CONFIG: JSON.stringify(tenantConfig) });
        return false;
      } catch {
        return true;
      }
    };
    for (const text of texts) {
      const valid = parseSecretMapping(text).ok;
      const cli = (() => {
        try {
          return parseMappingKey(text).mapping === text;
        } catch {
          return false;
        }
      })();
      expect({ text, cli, launcher: text in launched.secrets, runtime: !runtimeProblems(text) }).toEqual({ text, cli: valid, launcher: valid, runtime: valid });
    }
    expect(secretMappingExtension('avalara.license.key')).toBeUndefined();
  });
});
