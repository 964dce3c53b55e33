import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUNDLE_BANNER, buildTenantBundle, lambdaBuildOptions, withoutUnusedBanner, type TenantBundle } from './bundle.js';
import { renderEntrySource, renderExtensionModule } from './entry-source.js';
import { packArtifact, readArtifactManifest, zipArtifact } from './pack.js';
import { readZip } from './zip.js';

let project: string;
let runtime: string;

/** A stand-in runtime: createLambdaHandler loads every extension and answers with what it found. */
const FAKE_RUNTIME = `
export const defineExtension = (m) => m;
export const defineHandler = (h) => h;
export function createLambdaHandler(extensions) {
  return async (event) => {
    const loaded = await Promise.allSettled(extensions.map((e) => e.load()));
    const out = {};
    for (const [i, r] of loaded.entries()) {
      out[extensions[i].name] = r.status === 'fulfilled'
        ? { version: r.value.manifest.version, handlers: Object.fromEntries(await Promise.all(Object.entries(r.value.handlers).map(async ([k, ns]) => [k, await ns.handler(event)]))) }
        : { error: String(r.reason.message) };
    }
    return { statusCode: 200, body: JSON.stringify(out) };
  };
}
`;

function writeExtension(name: string, handlers: string[], extra = '') {
  const dir = join(project, 'extensions', name);
  mkdirSync(join(dir, 'handlers'), { recursive: true });
  mkdirSync(join(dir, 'test'), { recursive: true });
  writeFileSync(
    join(dir, 'extension.ts'),
    `import { defineExtension } from 'sovereign-cli/runtime';\n${extra}\nexport default defineExtension({ name: '${name}', version: '1.2.3', description: 'x', routes: [${handlers
      .map((h, i) => `{ method: 'GET', path: '/r${i}', handler: '${h}' }`)
      .join(', ')}] });\n`,
  );
  for (const h of new Set(handlers.map((h) => h.split('#')[0]!))) {
    writeFileSync(join(dir, 'handlers', `${h}.ts`), `import { defineHandler } from 'sovereign-cli/runtime';\nexport const handler = defineHandler(async () => 'marker-${name}-${h}');\n`);
  }
  writeFileSync(join(dir, 'test', 'x.test.ts'), 'throw new Error("tests are not bundled");\n');
}

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'sovereign-bundle-'));
  runtime = join(project, 'fake-runtime.mjs');
  writeFileSync(runtime, FAKE_RUNTIME);
  writeExtension('alpha', ['hello', 'hello#handler', 'other-one']);
  writeExtension('beta', ['ping']);
  writeExtension('broken', ['boom']);
  writeFileSync(join(project, 'extensions', 'broken', 'handlers', 'boom.ts'), 'throw new Error("boom at load");\nexport const handler = () => 1;\n');
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

const build = (extensions: string[]) =>
  buildTenantBundle({ projectDir: project, extensionsDir: join(project, 'extensions'), extensions, runtime });

/** Writes every file of the bundle (entry and chunks) into its own folder and runs it. */
async function invoke(bundle: TenantBundle, name: string): Promise<Record<string, unknown>> {
  const dir = join(project, 'run', name);
  for (const f of bundle.files) {
    mkdirSync(dirname(join(dir, f.name)), { recursive: true });
    writeFileSync(join(dir, f.name), f.data);
  }
  const file = join(dir, 'index.mjs');
  const module = (await import(pathToFileURL(file).href)) as { handler: (e: unknown) => Promise<{ body: string }> };
  return JSON.parse((await module.handler({})).body) as Record<string, unknown>;
}

describe('renderEntrySource', () => {
  it('loads each extension lazily, in name order', () => {
    const source = renderEntrySource([
      { name: 'b', manifestFile: '/x/b/extension.ts', handlers: [{ key: 'z', file: '/x/b/handlers/z.ts' }] },
      { name: 'a', manifestFile: '/x/a/extension.ts', handlers: [] },
    ]);
    expect(source.indexOf('"a"')).toBeLessThan(source.indexOf('"b"'));
    expect(source).toContain('load: () => import("sovereign-extension:b")');
    expect(source).toContain('"z": m.h0');
    expect(source).toContain('export const handler = createLambdaHandler([');
  });

  it('renders each extension as one module re-exporting its manifest and handlers in key order', () => {
    const module = renderExtensionModule({
      name: 'b',
      manifestFile: '/x/b/extension.ts',
      handlers: [{ key: 'z', file: '/x/b/handlers/z.ts' }, { key: 'a', file: '/x/b/handlers/a.ts' }],
    });
    expect(module).toBe('export * as manifest from "/x/b/extension.ts";\nexport * as h0 from "/x/b/handlers/a.ts";\nexport * as h1 from "/x/b/handlers/z.ts";\n');
    const entry = renderEntrySource([{ name: 'b', manifestFile: '/x/b/extension.ts', handlers: [{ key: 'z', file: '/x/b/handlers/z.ts' }, { key: 'a', file: '/x/b/handlers/a.ts' }] }]);
    expect(entry).toContain('handlers: { "a": m.h0, "z": m.h1 }');
  });
});

describe('withoutUnusedBanner', () => {
  const text = (code: Uint8Array) => Buffer.from(code).toString('utf8');
  it('drops createRequire from code that never names require, and keeps it where CommonJS code does', () => {
    expect(text(withoutUnusedBanner(Buffer.from(`${BUNDLE_BANNER}\nexport const a=1;`)))).toBe('export const a=1;');
    const cjs = Buffer.from(`${BUNDLE_BANNER}\nvar b=require("buffer");export{b};`);
    expect(text(withoutUnusedBanner(cjs))).toBe(text(cjs));
    expect(text(withoutUnusedBanner(Buffer.from('export const c=2;')))).toBe('export const c=2;');
  });
});

describe('buildTenantBundle', () => {
  it('bundles only the enabled extensions and serves them', async () => {
    const bundle = await build(['alpha']);
    const entry = Buffer.from(bundle.code).toString('utf8');
    const text = bundle.files.map((f) => Buffer.from(f.data).toString('utf8')).join('\n');
    expect(bundle.files.map((f) => f.name).filter((n) => n !== 'index.mjs').every((n) => /^chunks\/[\w-]+\.mjs$/.test(n))).toBe(true);
    // createRequire only where CommonJS code needs it: not in the entry, still in chunks that use require.
    expect(entry.startsWith(BUNDLE_BANNER)).toBe(false);
    for (const file of bundle.files) {
      const code = Buffer.from(file.data).toString('utf8');
      if (!code.startsWith(BUNDLE_BANNER)) expect(code).not.toMatch(/\brequire\b/);
    }
    expect(text).toContain('marker-alpha-hello');
    expect(text).not.toContain('marker-beta');
    expect(text).not.toContain('tests are not bundled');
    expect(bundle.inputs.some((i) => i.includes(join('extensions', 'beta')))).toBe(false);
    expect(bundle.manifest.extensions.map((e) => [e.name, e.version])).toEqual([['alpha', '1.2.3']]);
    expect(await invoke(bundle, 'only-alpha')).toEqual({
      alpha: { version: '1.2.3', handlers: { hello: 'marker-alpha-hello', 'other-one': 'marker-alpha-other-one' } },
    });
  });

  it('keeps a failing extension from taking the others down', async () => {
    const bundle = await build(['beta', 'broken']);
    const result = await invoke(bundle, 'beta-broken');
    expect(result.beta).toEqual({ version: '1.2.3', handlers: { ping: 'marker-beta-ping' } });
    expect(result.broken).toEqual({ error: 'boom at load' });
  });

  it('names an unknown extension and a missing handler file', async () => {
    await expect(build(['gamma'])).rejects.toThrow(/extension "gamma" is not in/);
    writeExtension('halfway', ['present']);
    rmSync(join(project, 'extensions', 'halfway', 'handlers', 'present.ts'));
    await expect(build(['halfway'])).rejects.toThrow(/handler "present" has no file/);
  });

  it('changes the code hash when an extension changes', async () => {
    const before = (await build(['beta'])).manifest.extensions[0]!.codeSha256;
    writeFileSync(join(project, 'extensions', 'beta', 'handlers', 'ping.ts'), `import { defineHandler } from 'sovereign-cli/runtime';\nexport const handler = defineHandler(async () => 'marker-beta-ping2');\n`);
    const after = (await build(['beta'])).manifest.extensions[0]!.codeSha256;
    expect(after).not.toBe(before);
  });
});

describe('packArtifact', () => {
  it('is byte-identical across builds and stores zip plus unpacked bundle', async () => {
    const first = zipArtifact(await build(['alpha', 'beta']));
    const second = zipArtifact(await build(['beta', 'alpha']));
    expect(second.sha256).toBe(first.sha256);

    const artifacts = join(project, '.sovereign', 'artifacts');
    const packed = packArtifact(await build(['alpha', 'beta']), artifacts);
    expect(packed.sha256).toBe(first.sha256);
    expect(packed.path).toBe(join(artifacts, `${first.sha256}.zip`));
    expect(readFileSync(packed.path).length).toBe(packed.size);
    const names = readZip(readFileSync(packed.path)).map((e) => e.name);
    expect(names.filter((n) => !n.startsWith('chunks/'))).toEqual(['index.mjs', 'manifest.json']);
    for (const name of names) expect(existsSync(join(packed.dir, name)), name).toBe(true);
    expect(existsSync(packed.entry)).toBe(true);
    expect(readArtifactManifest(packed.path).extensions.map((e) => e.name)).toEqual(['alpha', 'beta']);
    // Packing again is a no-op that returns the same artifact.
    expect(packArtifact(await build(['alpha', 'beta']), artifacts)).toEqual(packed);
  });

  it('is built for the Node of the configured Lambda runtime (node24 unless aws.lambdaRuntime says nodejs22.x)', async () => {
    expect(lambdaBuildOptions().target).toBe('node24');
    expect(lambdaBuildOptions('nodejs22.x').target).toBe('node22');
    expect((await build(['alpha'])).manifest.node).toBe('node24');
    const on22 = await buildTenantBundle({ projectDir: project, extensionsDir: join(project, 'extensions'), extensions: ['alpha'], runtime, lambdaRuntime: 'nodejs22.x' });
    expect(on22.manifest.node).toBe('node22');
  });

  it('gives a different artifact for a different set of extensions', async () => {
    expect(zipArtifact(await build(['alpha'])).sha256).not.toBe(zipArtifact(await build(['alpha', 'beta'])).sha256);
  });
});
