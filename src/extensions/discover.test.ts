import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { discoverExtensions, extensionCodeHash } from './discover.js';

const root = mkdtempSync(join(tmpdir(), 'sovereign-discover-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

const good = (name: string) => `
import { defineExtension } from 'sovereign-cli/runtime';
import { z } from 'zod';
import { itemSchema } from './models/item.js';
export default defineExtension({
  name: '${name}',
  version: '0.1.0',
  description: 'test extension',
  routes: [{ method: 'GET', path: '/items/{id}', handler: 'get-item', response: itemSchema }],
  secrets: [{ key: 'api_key', description: 'key' }],
  config: z.object({ baseUrl: z.string().default('http://x') }),
});
`;

describe('discoverExtensions', () => {
  const dir = join(root, 'extensions');
  write(join(dir, 'alpha', 'extension.ts'), good('alpha'));
  write(join(dir, 'alpha', 'models', 'item.ts'), "import { z } from 'zod';\nexport const itemSchema = z.object({ id: z.string() });\n");
  write(join(dir, 'alpha', 'handlers', 'get-item.ts'), 'export const handler = () => ({ id: "1" });\n');
  write(join(dir, 'alpha', 'test', 'alpha.test.ts'), '// not part of the code hash\n');
  write(join(dir, 'broken', 'extension.ts'), 'export default defineExtension({ name: "broken", \n');
  write(join(dir, 'mismatch', 'extension.ts'), good('other-name'));
  write(join(dir, 'mismatch', 'models', 'item.ts'), "import { z } from 'zod';\nexport const itemSchema = z.string();\n");
  mkdirSync(join(dir, 'empty'), { recursive: true });
  mkdirSync(join(dir, '.cache'), { recursive: true });

  it('loads every folder, reporting broken ones without hiding the others', async () => {
    const found = await discoverExtensions(dir);
    expect(found.map((e) => [e.name, e.status])).toEqual([
      ['alpha', 'ok'],
      ['broken', 'failed'],
      ['empty', 'failed'],
      ['mismatch', 'invalid'],
    ]);
    const [alpha, broken, empty, mismatch] = found;
    expect(alpha!.manifest!.routes[0]!.path).toBe('/items/{id}');
    expect(broken!.problems[0]).toMatch(/^does not load: .*extension\.ts:\d+: /);
    expect(empty!.problems).toEqual(['has no extension.ts manifest']);
    expect(mismatch!.problems).toEqual(['name: "other-name" must equal its folder name "mismatch"']);
  });

  it('shares the CLI zod instance with the manifest, so its schemas are real zod types here', async () => {
    const [alpha] = await discoverExtensions(dir, { names: ['alpha'] });
    const config = alpha!.manifest!.config!;
    expect(config).toBeInstanceOf(z.ZodType);
    expect(config.parse({})).toEqual({ baseUrl: 'http://x' });
    expect(z.toJSONSchema(alpha!.manifest!.routes[0]!.response!)).toMatchObject({ type: 'object', required: ['id'] });
  });

  it('hashes the code, not the tests, and changes when a source byte changes', async () => {
    const before = extensionCodeHash(join(dir, 'alpha'));
    write(join(dir, 'alpha', 'test', 'alpha.test.ts'), '// edited test\n');
    expect(extensionCodeHash(join(dir, 'alpha'))).toBe(before);
    write(join(dir, 'alpha', 'handlers', 'get-item.ts'), 'export const handler = () => ({ id: "2" });\n');
    const after = extensionCodeHash(join(dir, 'alpha'));
    expect(after).not.toBe(before);
    const [alpha] = await discoverExtensions(dir, { names: ['alpha'] });
    expect(alpha!.codeSha256).toBe(after);
  });

  it('loads the repository extensions', async () => {
    const repoExtensions = fileURLToPath(new URL('../../extensions', import.meta.url));
    const found = await discoverExtensions(repoExtensions, { names: ['avalara', 'cetec', 'avalara-cetec-sync'] });
    expect(found.map((e) => [e.name, e.status, e.problems])).toEqual([
      ['avalara', 'ok', []],
      ['avalara-cetec-sync', 'ok', []],
      ['cetec', 'ok', []],
    ]);
  });
});
