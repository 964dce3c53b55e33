import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode, UserError } from '../errors.js';
import { validateExtensions } from './validate.js';
import { renderExtensionFiles, scaffoldExtension } from './scaffold.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'sovereign-scaffold-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function thrown(fn: () => unknown): UserError {
  try {
    fn();
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error('expected a UserError');
}

describe('scaffoldExtension', () => {
  it('refuses an invalid name with exit 2 and writes nothing', () => {
    const dir = join(root, 'invalid', 'extensions');
    const error = thrown(() => scaffoldExtension({ extensionsDir: dir, name: 'Bad_Name' }));
    expect(error.exitCode).toBe(ExitCode.badInput);
    expect(error.message).toMatch(/upper-case/);
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses an existing extension with exit 4 and leaves it untouched', () => {
    const dir = join(root, 'existing', 'extensions');
    mkdirSync(join(dir, 'taken'), { recursive: true });
    writeFileSync(join(dir, 'taken', 'keep.txt'), 'mine');
    const error = thrown(() => scaffoldExtension({ extensionsDir: dir, name: 'taken' }));
    expect(error.exitCode).toBe(ExitCode.conflict);
    expect(readdirSync(join(dir, 'taken'))).toEqual(['keep.txt']);
    expect(readdirSync(dir)).toEqual(['taken']);
  });

  it('writes the five files, no staging leftovers, and next steps', () => {
    const dir = join(root, 'fresh', 'extensions');
    const result = scaffoldExtension({ extensionsDir: dir, name: 'shipping-rates' });
    expect(result.files).toEqual([
      'extension.ts',
      'handlers/greet.ts',
      'models/greeting.ts',
      'services/greetings.ts',
      'test/shipping-rates.test.ts',
    ]);
    expect(readdirSync(dir)).toEqual(['shipping-rates']);
    expect(result.nextSteps).toContain('sovereign ext validate shipping-rates');
    expect(result.nextSteps).toContain('sovereign ext enable shipping-rates --tenant <id>');
  });

  it('renders code that names the extension and its config type', () => {
    const files = renderExtensionFiles('shipping-rates');
    expect(files['extension.ts']).toContain("name: 'shipping-rates'");
    expect(files['handlers/greet.ts']).toContain('ShippingRatesConfig');
  });

  it('produces an extension that validates, type-checks and passes its own test', async () => {
    const project = join(root, 'project');
    mkdirSync(project, { recursive: true });
    symlinkSync(join(repo, 'node_modules'), join(project, 'node_modules'), 'dir');
    const extensionsDir = join(project, 'extensions');
    scaffoldExtension({ extensionsDir, name: 'demo-ext' });

    const report = await validateExtensions(extensionsDir);
    expect(report.extensions).toEqual([{ name: 'demo-ext', version: '0.1.0', ok: true, problems: [], warnings: [], publicRoutes: [], schedules: [] }]);

    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        extends: join(repo, 'tsconfig.json'),
        compilerOptions: { noEmit: true, rootDir: '/', paths: {
          'sovereign-cli/runtime': [join(repo, 'src/runtime/index.ts')],
          'sovereign-cli/testing': [join(repo, 'src/testing/index.ts')],
        } },
        include: ['extensions'],
      }),
    );
    // One compiler run: the scaffold must have no error, and a deliberately broken sibling shows
    // that errors in extensions/ are caught. Errors in the package's own files (being edited
    // elsewhere) are not the scaffold's concern.
    mkdirSync(join(extensionsDir, 'control'), { recursive: true });
    writeFileSync(join(extensionsDir, 'control', 'broken.ts'), "export const n: number = 'not a number';\n");
    const tsc = await execa(join(repo, 'node_modules/.bin/tsc'), ['-p', join(project, 'tsconfig.json')], { reject: false, cwd: project });
    const errors = (tsc.stdout + tsc.stderr).split('\n').filter((line) => line.startsWith('extensions/'));
    expect(errors.filter((line) => line.startsWith('extensions/demo-ext/'))).toEqual([]);
    expect(errors.some((line) => line.startsWith('extensions/control/broken.ts'))).toBe(true);
    rmSync(join(extensionsDir, 'control'), { recursive: true, force: true });

    writeFileSync(
      join(project, 'vitest.config.mjs'),
      `export default {
  resolve: { alias: {
    'sovereign-cli/runtime': ${JSON.stringify(join(repo, 'src/runtime/index.ts'))},
    'sovereign-cli/testing': ${JSON.stringify(join(repo, 'src/testing/index.ts'))},
  } },
  test: { include: ['extensions/**/*.test.ts'], testTimeout: 30000 },
};
`,
    );
    const vitest = await execa(join(repo, 'node_modules/.bin/vitest'), ['run', '--config', 'vitest.config.mjs'], {
      reject: false,
      cwd: project,
      env: { CI: '1', NO_COLOR: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    expect(vitest.stdout).toMatch(/Tests\s+2 passed/);
    expect(vitest.exitCode).toBe(0);
  }, 120_000);
});
