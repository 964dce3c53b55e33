import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { discoverExtensions } from './discover.js';
import { secretReads, validateDiscovered, validateExtensions } from './validate.js';

const root = mkdtempSync(join(tmpdir(), 'sovereign-validate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

function manifest(name: string, routes: string, secrets = "[{ key: 'api_key', description: 'k' }]"): string {
  return `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({ name: '${name}', version: '1.0.0', description: 'd', routes: ${routes}, secrets: ${secrets} });
`;
}

describe('validateExtensions', () => {
  const dir = join(root, 'extensions');
  write(join(dir, 'good', 'extension.ts'), manifest('good', "[{ method: 'GET', path: '/x', handler: 'get-x' }]"));
  write(
    join(dir, 'strict', 'extension.ts'),
    `import { defineExtension } from 'sovereign-cli/runtime';
import { z } from 'zod';
export default defineExtension({ name: 'strict', version: '1.0.0', description: 'd', routes: [], config: z.object({ baseUrl: z.string() }) });
`,
  );
  write(
    join(dir, 'good', 'handlers', 'get-x.ts'),
    "export const handler = async (_r: unknown, ctx: { secrets: { get(k: string): Promise<string> } }) => ctx.secrets.get('api_key');\n",
  );
  write(
    join(dir, 'bad', 'extension.ts'),
    manifest(
      'bad',
      "[{ method: 'GET', path: '/a', handler: 'missing' }, { method: 'GET', path: '/b', handler: 'named#run' }, { method: 'POST', path: '/c', handler: 'broken' }]",
    ),
  );
  write(
    join(dir, 'timed', 'extension.ts'),
    `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({ name: 'timed', version: '1.0.0', description: 'd', routes: [], schedules: [{ name: 'tick', expression: 'rate(1 hour)', handler: 'tick' }, { name: 'gone', expression: 'rate(1 day)', handler: 'missing', enabled: false }] });
`,
  );
  write(join(dir, 'timed', 'handlers', 'tick.ts'), 'export const handler = async () => 1;\n');
  write(join(dir, 'bad', 'handlers', 'named.ts'), 'export const handler = () => 1;\nexport const other = 2;\n');
  write(join(dir, 'bad', 'handlers', 'broken.ts'), 'export const handler = (;\n');
  write(join(dir, 'bad', 'services', 'client.ts'), 'export const f = (ctx: any) => ctx.secrets.get("password");\n');
  write(join(dir, 'bad', 'test', 'bad.test.ts'), 'ctx.secrets.get("only_in_tests");\n');
  write(join(dir, 'bad', 'services', 'doc.ts'), "// e.g. ctx.secrets.get('in_a_comment')\n/* ctx.secrets.get('in_a_block') */\nexport {};\n");

  it('checks the handler of each schedule and lists the schedules', async () => {
    const report = await validateExtensions(dir, { only: ['timed'] });
    const timed = report.extensions[0]!;
    expect(timed.problems).toEqual(['schedules[1] (gone): handler file handlers/missing.ts does not exist']);
    expect(timed.schedules).toEqual([
      { name: 'tick', expression: 'rate(1 hour)', handler: 'tick', enabled: true },
      { name: 'gone', expression: 'rate(1 day)', handler: 'missing', enabled: false },
    ]);
  });

  it('passes a correct extension and warns about nothing', async () => {
    const report = await validateExtensions(dir, { only: ['good'] });
    expect(report).toEqual({ ok: true, extensions: [{ name: 'good', version: '1.0.0', ok: true, problems: [], warnings: [], publicRoutes: [], schedules: [] }] });
  });

  it('reports the routes that answer anyone, and refuses scopes on them', async () => {
    const open = mkdtempSync(join(tmpdir(), 'sov-public-'));
    try {
      write(join(open, 'status', 'extension.ts'), manifest('status', "[{ method: 'GET', path: '/', handler: 'get-x', auth: 'public' }, { method: 'GET', path: '/private', handler: 'get-x' }]"));
      write(join(open, 'status', 'handlers', 'get-x.ts'), 'export const handler = () => 1;\n');
      const report = await validateExtensions(open);
      expect(report.extensions[0]).toMatchObject({ ok: true, publicRoutes: ['GET /status'] });
      write(join(open, 'status', 'extension.ts'), manifest('status', "[{ method: 'GET', path: '/', handler: 'get-x', auth: 'public', scopes: ['a:b'] }]"));
      const refused = await validateExtensions(open);
      expect(refused.extensions[0]!.problems).toEqual([expect.stringContaining('a public route cannot require scopes')]);
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
  });

  it('reports missing handler files, missing exports, compile errors and undeclared secrets', async () => {
    const report = await validateExtensions(dir, { only: ['bad'] });
    expect(report.ok).toBe(false);
    const [bad] = report.extensions;
    expect(bad!.problems).toEqual([
      'routes[0] (GET /a): handler file handlers/missing.ts does not exist',
      'routes[1] (GET /b): handlers/named.ts does not export "run" (it exports "handler", "other")',
      expect.stringMatching(/^routes\[2\] \(POST \/c\): handlers\/broken\.ts does not compile: /),
      'services/client.ts reads secret "password", which the manifest does not declare (add it to secrets)',
    ]);
    expect(bad!.warnings).toEqual([
      "secret \"api_key\" is declared but no handler or service reads it with ctx.secrets.get('api_key')",
    ]);
  });

  it('warns when the config schema has required settings without defaults', async () => {
    const report = await validateExtensions(dir, { only: ['strict'] });
    expect(report.ok).toBe(true);
    expect(report.extensions[0]!.warnings).toEqual([expect.stringMatching(/^config has required settings without defaults/)]);
  });

  it('reports routes that collide on the full path across extensions', async () => {
    const all = await discoverExtensions(dir, { names: ['good'] });
    const copy = { ...all[0]!, name: 'good-copy' };
    const report = await validateDiscovered([all[0]!, copy]);
    expect(report.extensions[1]!.problems).toContain('route GET /good/x collides with GET /good/x of extension "good"');
  });

  it('passes the repository extensions', async () => {
    const report = await validateExtensions(fileURLToPath(new URL('../../extensions', import.meta.url)), {
      names: ['avalara', 'cetec', 'avalara-cetec-sync'],
    });
    expect(report.extensions.map((e) => [e.name, e.problems, e.warnings])).toEqual([
      ['avalara', [], []],
      ['avalara-cetec-sync', [], []],
      ['cetec', [], []],
    ]);
  });
});

describe('secretReads', () => {
  it('finds literal keys in handlers and services but not in tests', () => {
    const reads = secretReads(join(root, 'extensions', 'bad'));
    expect([...reads.keys()]).toEqual(['password']);
  });
});
