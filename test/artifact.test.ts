/**
 * Tenant artifacts built from the real runtime and the repository's example extensions: only the
 * enabled extensions are served, and the artifact's SHA-256 is the same in every time zone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { build } from 'esbuild';
import { buildTenantBundle, packArtifact, readZip, zipArtifact } from '../src/artifact/index.js';

const repo = resolve(import.meta.dirname, '..');
const extensionsDir = join(repo, 'extensions');
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sovereign-artifact-e2e-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Calls the bundle's handler in a fresh Node process, as the `dev` server and Lambda do. */
async function callBundle(entry: string, path: string, extensions: string[]): Promise<{ statusCode: number; body: string }> {
  const script = `
    const { handler } = await import(${JSON.stringify(`file://${entry}`)});
    const event = { version: '2.0', routeKey: '$default', rawPath: ${JSON.stringify(path)}, rawQueryString: '', headers: { host: 'acme.localhost' },
      requestContext: { http: { method: 'GET', path: ${JSON.stringify(path)}, sourceIp: '127.0.0.1', protocol: 'HTTP/1.1', userAgent: 'test' }, requestId: 'r1', stage: '$default', timeEpoch: Date.now(),
        authorizer: { jwt: { claims: { iss: 'https://idp.test/', aud: 'api', sub: 'u', tenant_id: 'acme', exp: String(Math.floor(Date.now() / 1000) + 600) }, scopes: null } } },
      isBase64Encoded: false };
    process.stdout.write('\\n@@' + JSON.stringify(await handler(event)));
  `;
  // A caller API Gateway's JWT authorizer verified (the event above carries its claims).
  const auth = { issuers: ['https://idp.test/'], audiences: ['api'], tenantClaim: 'tenant_id', apiKeys: true };
  const config = { extensions, secrets: {}, config: {}, webhookSecret: 'ssm:/dev/tenants/acme/_sovereign/webhook_secret', auth };
  const result = await execa('node', ['--input-type=module', '-e', script], {
    cwd: work,
    env: {
      SOVEREIGN_TENANT: 'acme',
      SOVEREIGN_STAGE: 'dev',
      SOVEREIGN_TABLE: 'sovereign-dev-acme',
      SOVEREIGN_TENANT_CONFIG: JSON.stringify(config),
      SOVEREIGN_SECRETS_BACKEND: 'vault',
      SOVEREIGN_VAULT_PATH: join(work, 'vault.json'),
      SOVEREIGN_VAULT_KEY_FILE: join(work, 'vault.key'),
      SOVEREIGN_GENERATION_SOURCE: `file:${join(work, 'generation.json')}`,
      SOVEREIGN_LOG_LEVEL: 'error',
    },
    extendEnv: false,
    reject: false,
  });
  const marker = result.stdout.lastIndexOf('@@');
  if (marker < 0) throw new Error(`the bundle did not answer: ${result.stderr || result.stdout}`);
  return JSON.parse(result.stdout.slice(marker + 2)) as { statusCode: number; body: string };
}

describe('tenant artifact of the real runtime', { timeout: 120_000 }, () => {
  it('serves only the enabled extensions', async () => {
    const bundle = await buildTenantBundle({ projectDir: repo, extensionsDir, extensions: ['avalara'] });
    const packed = packArtifact(bundle, join(work, 'artifacts'));
    expect(packed.entry).toBe(join(work, 'artifacts', packed.sha256, 'index.mjs'));
    expect(bundle.inputs.some((file) => file.includes(join('extensions', 'cetec')))).toBe(false);
    expect(bundle.inputs.some((file) => file.includes(join('extensions', 'avalara', 'handlers', 'create-quote')))).toBe(true);

    const openapi = await callBundle(packed.entry, '/_sovereign/openapi.json', ['avalara']);
    expect(openapi.statusCode).toBe(200);
    const paths = Object.keys((JSON.parse(openapi.body) as { paths: Record<string, unknown> }).paths);
    expect(paths).toContain('/avalara/quotes');
    expect(paths.some((p) => p.startsWith('/cetec'))).toBe(false);

    // Enabling cetec on a tenant whose artifact lacks it is reported, not served.
    const health = await callBundle(packed.entry, '/_sovereign/health', ['avalara', 'cetec']);
    const extensions = (JSON.parse(health.body) as { extensions: Array<{ name: string; status: string; error?: string }> }).extensions;
    expect(extensions.find((e) => e.name === 'avalara')?.status).toBe('ok');
    expect(extensions.find((e) => e.name === 'cetec')).toMatchObject({ status: 'failed', error: 'not in the deployed artifact' });
  });

  it('has the same SHA-256 across builds, processes and time zones', async () => {
    // A frozen copy of the runtime and extensions, so edits elsewhere in the tree cannot change
    // the inputs between the builds compared here.
    const snap = join(work, 'snap');
    for (const dir of ['src/runtime', 'src/contract', 'extensions/avalara', 'extensions/cetec']) cpSync(join(repo, dir), join(snap, dir), { recursive: true });
    const snapRuntime = join(snap, 'src', 'runtime', 'index.ts');
    const snapExtensions = join(snap, 'extensions');
    const names = ['avalara', 'cetec'];
    const build1 = await buildTenantBundle({ projectDir: repo, extensionsDir: snapExtensions, extensions: names, runtime: snapRuntime });
    const inProcess = zipArtifact(build1).sha256;
    expect(zipArtifact(await buildTenantBundle({ projectDir: repo, extensionsDir: snapExtensions, extensions: [...names].reverse(), runtime: snapRuntime })).sha256).toBe(inProcess);

    // A driver laid out like the installed package (dist/artifact next to package.json).
    const pkg = join(work, 'pkg');
    mkdirSync(join(pkg, 'dist', 'artifact'), { recursive: true });
    copyFileSync(join(repo, 'package.json'), join(pkg, 'package.json'));
    symlinkSync(join(repo, 'node_modules'), join(pkg, 'node_modules'), 'dir');
    const driver = join(pkg, 'dist', 'artifact', 'driver.mjs');
    writeFileSync(
      join(work, 'driver.ts'),
      `import { buildTenantBundle, zipArtifact } from ${JSON.stringify(join(repo, 'src', 'artifact', 'index.ts'))};
       const bundle = await buildTenantBundle({ projectDir: ${JSON.stringify(repo)}, extensionsDir: ${JSON.stringify(snapExtensions)},
         extensions: ${JSON.stringify(names)}, runtime: ${JSON.stringify(snapRuntime)} });
       process.stdout.write(zipArtifact(bundle).sha256);`,
    );
    await build({ entryPoints: [join(work, 'driver.ts')], outfile: driver, bundle: true, format: 'esm', platform: 'node', packages: 'external', logLevel: 'silent' });

    const hashes: string[] = [];
    for (const tz of ['UTC', 'Asia/Kolkata', 'America/St_Johns']) {
      const { stdout } = await execa('node', [driver], { env: { TZ: tz } });
      hashes.push(stdout.trim());
    }
    expect(hashes).toEqual([inProcess, inProcess, inProcess]);

    // And the hash does follow the code: one changed byte in a handler gives another artifact.
    const handler = join(snapExtensions, 'cetec', 'handlers', readdirSync(join(snapExtensions, 'cetec', 'handlers'))[0]!);
    writeFileSync(handler, `${readFileSync(handler, 'utf8')}\nexport const __changed = 1;\n`);
    const changed = zipArtifact(await buildTenantBundle({ projectDir: repo, extensionsDir: snapExtensions, extensions: names, runtime: snapRuntime })).sha256;
    expect(changed).not.toBe(inProcess);
  });

  it('zips index.mjs, its chunks and manifest.json with the bundled extensions and versions', async () => {
    const bundle = await buildTenantBundle({ projectDir: repo, extensionsDir, extensions: ['cetec', 'avalara'] });
    const entries = readZip(zipArtifact(bundle).bytes);
    expect(entries.map((e) => e.name).filter((n) => !/^chunks\/[\w-]+\.mjs$/.test(n))).toEqual(['index.mjs', 'manifest.json']);
    const manifest = JSON.parse(entries.find((e) => e.name === 'manifest.json')!.data.toString('utf8')) as { extensions: Array<{ name: string; version: string }>; awsSdk: string; sovereign: string };
    expect(manifest.extensions.map((e) => e.name)).toEqual(['avalara', 'cetec']);
    expect(manifest.extensions.every((e) => /^\d+\.\d+\.\d+/.test(e.version))).toBe(true);
    expect(manifest.awsSdk).toBe('bundle');
    expect(manifest.sovereign).toBe((JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version);
  });
});
