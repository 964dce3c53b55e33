/**
 * The JSON Schema editors and CI validators read, and the CLI's own loader, give the same verdict
 * on every config of the table: billing shapes, extension settings (`tenantConfig`), tiers,
 * stages, auth issuers, unknown keys and wrong types. The schema is the one the build writes
 * (schema/sovereign.config.schema.json) with each extension's settings added by
 * `sovereign ext validate --write-schema`; the loader is `parseConfig` plus the settings check of
 * `ext validate`, and, for some rows, the real CLI.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { REFERENCE_PATTERN } from '../src/billing/config.js';
import { parseConfig } from '../src/config.js';
import { parseReference } from '../src/contract/reference.js';
import { discoverExtensions } from '../src/extensions/discover.js';
import { projectConfigJsonSchema, projectSettingsProblems, unknownExtensionSettings } from '../src/extensions/tenant-config.js';
import type { ValidManifest } from '../src/extensions/manifest-schema.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { makeMailerProject, writeConfig } from './helpers/config-fixture.js';

type Config = Record<string, unknown>;
interface Row {
  name: string;
  config: Config;
  valid: boolean;
  /** Also checked through the real CLI (`sovereign ext validate`). */
  cli?: boolean;
}

const base = { project: 'demo' };
const withBilling = (billing: unknown): Config => ({ ...base, billing });
const withMailer = (settings: unknown): Config => ({ ...base, tenantConfig: { mailer: settings } });

const ROWS: Row[] = [
  { name: 'the smallest config', config: base, valid: true, cli: true },
  {
    name: 'every section set',
    config: {
      $schema: './schema.json',
      project: 'demo',
      target: 'aws',
      stage: 'prod',
      region: 'eu-west-1',
      defaults: { tier: 'premium', extensions: ['mailer'] },
      billing: { suspendAfterFailures: 5, offboardGracePeriod: '12h', plans: { price_pro: 'standard' }, webhookSecret: 'ssm:/prod/_sovereign/billing/webhook_secret' },
      tenantConfig: { mailer: { from: 'ops@example.com', provider: 'smtp', smtp: { host: 'mail.example.com', port: 587 }, _schedules: { digest: false } } },
      auth: { jwt: { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/{tenant}', audience: ['app'], tenantClaim: null } },
      aws: { tableKey: 'stage', keyDeletionWindowDays: 7 },
      audit: { trustedKeys: ['keys/auditor.pem'], checkpointRetentionDays: 365 },
      dev: { port: 4100 },
    },
    valid: true,
    cli: true,
  },
  // billing
  { name: 'billing: suspendAfterFailures 0', config: withBilling({ suspendAfterFailures: 0 }), valid: false, cli: true },
  { name: 'billing: suspendAfterFailures as a string', config: withBilling({ suspendAfterFailures: '3' }), valid: false },
  { name: 'billing: a grace period in words', config: withBilling({ offboardGracePeriod: '30 days' }), valid: false },
  { name: 'billing: a plan mapped to an unknown tier', config: withBilling({ plans: { price_gold: 'gold' } }), valid: false },
  { name: 'billing: an unknown key', config: withBilling({ currency: 'eur' }), valid: false },
  { name: 'billing: a pasted value instead of a reference', config: withBilling({ webhookSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }), valid: false, cli: true },
  { name: 'billing: an SSM reference with a doubled "/"', config: withBilling({ webhookSecret: 'ssm:/prod//billing' }), valid: false },
  { name: 'billing: an SSM name under the reserved "aws" prefix', config: withBilling({ webhookSecret: 'ssm:/aws/billing' }), valid: false },
  { name: 'billing: a Secrets Manager ARN', config: withBilling({ webhookSecret: 'secretsmanager:arn:aws:secretsmanager:us-east-1:1:secret:x' }), valid: false },
  { name: 'billing: a Secrets Manager reference with key and stage', config: withBilling({ webhookSecret: 'secretsmanager:prod/billing:signing:AWSPREVIOUS' }), valid: true },
  { name: 'billing: not an object', config: withBilling(['price_pro']), valid: false },
  // extension settings
  { name: 'tenantConfig: valid settings', config: withMailer({ from: 'ops@example.com', batchSize: 500 }), valid: true },
  { name: 'tenantConfig: the required setting left to each tenant', config: withMailer({ provider: 'ses' }), valid: true },
  { name: 'tenantConfig: a number out of range', config: withMailer({ batchSize: 0 }), valid: false, cli: true },
  { name: 'tenantConfig: a number as a string', config: withMailer({ batchSize: '50' }), valid: false },
  { name: 'tenantConfig: a value outside the enum', config: withMailer({ provider: 'postfix' }), valid: false },
  { name: 'tenantConfig: an unknown setting of a strict schema', config: withMailer({ retries: 3 }), valid: false, cli: true },
  { name: 'tenantConfig: a nested object missing a key', config: withMailer({ smtp: { host: 'mail.example.com' } }), valid: false },
  { name: 'tenantConfig: not an e-mail address', config: withMailer({ from: 'ops' }), valid: false },
  { name: 'tenantConfig: a declared schedule switched off', config: withMailer({ _schedules: { digest: false } }), valid: true },
  { name: 'tenantConfig: an undeclared schedule', config: withMailer({ _schedules: { weekly: false } }), valid: false, cli: true },
  { name: 'tenantConfig: a schedule switch that is not a boolean', config: withMailer({ _schedules: { digest: 'off' } }), valid: false },
  { name: 'tenantConfig: settings that are a list', config: withMailer(['ops@example.com']), valid: false },
  { name: 'tenantConfig: a key that is not an extension name', config: { ...base, tenantConfig: { Mailer: {} } }, valid: false },
  { name: 'tenantConfig: settings of an extension this project does not have (a misspelt name)', config: { ...base, tenantConfig: { mailr: { from: 'ops@example.com' } } }, valid: false, cli: true },
  // tiers, stages, auth, the rest
  { name: 'defaults: an unknown tier', config: { ...base, defaults: { tier: 'gold' } }, valid: false },
  { name: 'stage: upper case', config: { ...base, stage: 'Prod' }, valid: false },
  { name: 'stage: under the reserved "aws" prefix', config: { ...base, stage: 'awsprod' }, valid: false, cli: true },
  { name: 'stage: thirteen characters', config: { ...base, stage: 'stagewithname' }, valid: false },
  { name: 'auth: a shared issuer without a tenant claim', config: { ...base, auth: { jwt: { issuer: 'https://login.example.com', audience: 'app', tenantClaim: null } } }, valid: false, cli: true },
  { name: 'auth: a shared issuer with a tenant claim', config: { ...base, auth: { jwt: { issuer: 'https://login.example.com', audience: 'app', tenantClaim: 'custom:tenant_id' } } }, valid: true },
  { name: 'auth: an empty audience list', config: { ...base, auth: { jwt: { issuer: 'https://login.example.com', audience: [] } } }, valid: false },
  { name: 'secrets: the case study\'s pattern', config: { ...base, secrets: { ssmPrefix: '/{stage}/t/{tenant}/', secretsManagerName: '{extension}/{tenant}-secrets' } }, valid: true },
  { name: 'secrets: a prefix without {tenant}', config: { ...base, secrets: { ssmPrefix: '/{stage}/shared/' } }, valid: false, cli: true },
  { name: 'secrets: an unknown placeholder', config: { ...base, secrets: { secretsManagerName: '{region}/{tenant}/' } }, valid: false },
  { name: 'secrets: an SSM prefix without its trailing "/"', config: { ...base, secrets: { ssmPrefix: '/{stage}/tenants/{tenant}' } }, valid: false },
  { name: 'secrets: a doubled "/" in a Secrets Manager name', config: { ...base, secrets: { secretsManagerName: '{stage}//{tenant}/' } }, valid: false },
  { name: 'an unknown top-level key', config: { ...base, regoin: 'us-east-1' }, valid: false, cli: true },
  { name: 'dev.port as a string', config: { ...base, dev: { port: '4000' } }, valid: false },
  { name: 'a region in capitals', config: { ...base, region: 'US-EAST-1' }, valid: false },
  { name: 'aws: a key deletion window under 7 days', config: { ...base, aws: { keyDeletionWindowDays: 5 } }, valid: false },
  { name: 'no project name', config: { stage: 'dev' }, valid: false },
];

// Both are CommonJS: under Node's ESM interop the class and the plugin are each module's `default`.
const Ajv2020 = (Ajv2020Module as unknown as { default: typeof Ajv2020Module.default }).default ?? Ajv2020Module;
const addFormats = (addFormatsModule as unknown as { default: typeof addFormatsModule.default }).default ?? addFormatsModule;

let project: string;
let manifests: ValidManifest[];
let schema: Record<string, unknown>;
let validate: (config: unknown) => boolean;

/** The CLI loader's verdict: the config file parses, and each extension's settings fit its schema. */
function loaderAccepts(config: Config): boolean {
  try {
    const parsed = parseConfig(JSON.stringify(config), 'sovereign.config.json');
    return [...unknownExtensionSettings(parsed.tenantConfig, ['mailer']), ...projectSettingsProblems(parsed.tenantConfig, manifests)].length === 0;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  project = await makeMailerProject();
  const written = join(project, 'config.schema.json');
  const result = await runCli(['ext', 'validate', '--write-schema', written], { cwd: project });
  expect(result.stderr).toContain('Wrote the config JSON Schema');
  schema = JSON.parse(readFileSync(written, 'utf8')) as Record<string, unknown>;
  manifests = (await discoverExtensions(join(project, 'extensions'))).flatMap((ext) => (ext.manifest ? [ext.manifest] : []));
  expect(manifests.map((m) => m.name)).toEqual(['mailer']);
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  validate = ajv.compile(schema);
}, 120_000);

describe('the config JSON Schema and the CLI loader agree', () => {
  it('the written schema is the build\'s, with the project\'s extension settings added', async () => {
    const built = JSON.parse(readFileSync(join(repoRoot, 'schema', 'sovereign.config.schema.json'), 'utf8')) as { properties: { tenantConfig: Record<string, unknown> } };
    const { properties, additionalProperties, ...rest } = (schema as { properties: { tenantConfig: { properties: Record<string, unknown>; additionalProperties: unknown } } }).properties.tenantConfig;
    // The project's schema names its extensions and no others.
    expect(additionalProperties).toBe(false);
    const generic = { ...rest, additionalProperties: built.properties.tenantConfig.additionalProperties };
    expect({ ...schema, properties: { ...(schema.properties as object), tenantConfig: generic } }).toEqual(built);
    expect(Object.keys(properties)).toEqual(['mailer']);
    expect(await projectConfigJsonSchema(manifests, ['mailer'])).toEqual(schema);
  });

  it(`gives each of the ${ROWS.length} configs the expected verdict, the same from both`, () => {
    const verdicts = ROWS.map((row) => ({ name: row.name, expected: row.valid, schema: validate(row.config), loader: loaderAccepts(row.config) }));
    expect(verdicts.filter((v) => v.schema !== v.loader), 'rows where the JSON Schema and the loader disagree').toEqual([]);
    expect(verdicts.filter((v) => v.schema !== v.expected || v.loader !== v.expected), 'rows with an unexpected verdict').toEqual([]);
    expect(ROWS.filter((r) => r.valid).length).toBeGreaterThanOrEqual(5);
    expect(ROWS.filter((r) => !r.valid).length).toBeGreaterThanOrEqual(10);
  });

  it.each(ROWS.filter((row) => row.cli))('through the real CLI: $name', async (row) => {
    writeConfig(project, row.config);
    const result = await runCli(['ext', 'validate'], { cwd: project });
    expect(validate(row.config)).toBe(row.valid);
    if (row.valid) {
      expect(result.stderr).not.toContain('error:');
      expect(result.exitCode).toBe(0);
    } else {
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(/^error: .+\n(?:.*\n)*hint: .+$/);
    }
  }, 60_000);
});

describe('the JSON Schema\'s reference pattern', () => {
  // Pieces that sit on the edges of parseReference's rules: separators, dot segments, reserved
  // prefixes and suffixes, ARNs, characters one service allows and the other does not.
  const piece = fc.constantFrom('ssm:', 'secretsmanager:', '/', '//', ':', '.', '..', 'aws', 'SSM', 'arn:', 'prod', 'a', 'Z9', '_', '-', '+', '=', '@', '*', ' ', 'é', '-abc123', 'AWSCURRENT', '%2F');
  const candidate = fc.oneof(
    fc.tuple(fc.constantFrom('ssm:', 'ssm:/', 'secretsmanager:'), fc.array(piece, { maxLength: 8 })).map(([prefix, rest]) => prefix + rest.join('')),
    fc.array(piece, { maxLength: 10 }).map((parts) => parts.join('')),
    fc.tuple(fc.constantFrom('ssm:/', 'secretsmanager:'), fc.integer({ min: 500, max: 2100 })).map(([prefix, n]) => prefix + 'a'.repeat(n)),
    fc.tuple(fc.integer({ min: 10, max: 17 })).map(([levels]) => `ssm:${'/a'.repeat(levels)}`),
  );

  it('accepts exactly the references parseReference accepts', () => {
    fc.assert(
      fc.property(candidate, (text) => {
        expect(REFERENCE_PATTERN.test(text), text).toBe(parseReference(text).ok);
      }),
      { numRuns: 5000 },
    );
  });
});
