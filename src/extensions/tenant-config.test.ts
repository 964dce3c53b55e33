import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { projectConfigJsonSchema, settingsProblems, unknownExtensionSettings, type SettingsManifest } from './tenant-config.js';

const schedule = { name: 'digest', expression: 'rate(1 day)', handler: 'digest', enabled: true };
const mailer: SettingsManifest = {
  name: 'mailer',
  schedules: [schedule],
  config: z.object({ from: z.string().email(), batchSize: z.number().int().min(1).default(50) }).strict(),
};
const at = ['tenantConfig', 'mailer'];

describe('extension settings, layer by layer', () => {
  it("the config file's layer may leave a required setting to each tenant; the tenant's may not", () => {
    expect(settingsProblems(mailer, { batchSize: 10 }, 'project', at)).toEqual([]);
    expect(settingsProblems(mailer, { batchSize: 10 }, 'tenant', at)).toEqual([expect.stringMatching(/^tenantConfig\.mailer\.from: .*\(found nothing\)$/)]);
  });

  it('checks types, bounds and unknown keys in both layers, and conceals the values', () => {
    const problems = settingsProblems(mailer, { from: 'sk_live_abcdef', batchSize: 0, retries: 2 }, 'project', at);
    expect(problems).toEqual([
      expect.stringMatching(/^tenantConfig\.mailer\.from: .*\(found a string of 14 characters\)$/),
      expect.stringMatching(/^tenantConfig\.mailer\.batchSize: .*\(found a number\)$/),
      'tenantConfig.mailer: unknown key "retries"',
    ]);
    expect(problems.join('\n')).not.toContain('sk_live');
  });

  it('takes _schedules out before the strict schema sees the settings, and knows the declared schedules', () => {
    expect(settingsProblems(mailer, { from: 'a@example.com', _schedules: { digest: false } }, 'tenant', at)).toEqual([]);
    expect(settingsProblems(mailer, { from: 'a@example.com', _schedules: { weekly: false } }, 'tenant', at)).toEqual([
      'tenantConfig.mailer._schedules.weekly: "weekly" is not a schedule of mailer (it declares "digest")',
    ]);
  });

  it('uses a schema that is not an object as it is, in both layers', () => {
    const list: SettingsManifest = { name: 'list', schedules: [], config: z.array(z.string()) };
    expect(settingsProblems(list, [1], 'project', ['tenantConfig', 'list'])).toHaveLength(1);
    expect(settingsProblems({ name: 'free', schedules: [] }, { anything: 1 }, 'tenant', ['tenantConfig', 'free'])).toEqual([]);
  });

  it('names settings of extensions the project does not have', () => {
    expect(unknownExtensionSettings({ mailer: {}, mailr: {} }, ['mailer'])).toEqual([
      'tenantConfig.mailr: there is no extension "mailr" in this project, so these settings would be ignored (its extensions: mailer)',
    ]);
  });
});

describe("the project's JSON Schema", () => {
  it('describes each extension it could load, keeps the generic shape for one it could not, and no others', async () => {
    const schema = (await projectConfigJsonSchema([mailer, { name: 'free', schedules: [] }], ['broken', 'free', 'mailer'])) as {
      properties: { tenantConfig: { properties: Record<string, { properties?: Record<string, unknown>; required?: string[]; additionalProperties?: unknown }>; additionalProperties: unknown } };
    };
    const { properties, additionalProperties } = schema.properties.tenantConfig;
    expect(Object.keys(properties)).toEqual(['broken', 'free', 'mailer']);
    expect(additionalProperties).toBe(false);
    expect(properties.mailer!.required).toBeUndefined();
    expect(Object.keys(properties.mailer!.properties!)).toEqual(['from', 'batchSize', '_schedules']);
    expect(properties.mailer!.additionalProperties).toBe(false);
    expect(Object.keys(properties.free!.properties!)).toEqual(['_schedules']);
    expect(properties.broken!.additionalProperties).toEqual({});
  });
});
