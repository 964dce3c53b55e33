/**
 * What `npm pack` puts in the published tarball: the built package and its licence, never the
 * tests or their snapshots (src/templates ships as source, beside its tests).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';

interface PackListing {
  files: Array<{ path: string }>;
}

describe('package tarball', () => {
  it('holds no test files or snapshots, and the MIT licence', () => {
    // --ignore-scripts: listing the files must not rebuild dist (the test script builds it first).
    const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [listing] = JSON.parse(output) as PackListing[];
    const paths = listing!.files.map((file) => file.path);
    expect(paths).toContain('package.json');
    expect(paths).toContain('bin/sovereign.js');
    expect(paths.filter((path) => /\.test\.[cm]?[jt]sx?$|(^|\/)__snapshots__\/|\.snap$/.test(path))).toEqual([]);
    expect(paths).toContain('LICENSE');
    const licence = readFileSync(join(repoRoot, 'LICENSE'), 'utf8');
    expect(licence).toMatch(/^MIT License/);
    expect(licence).toContain('the sovereign authors');
    expect((JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { license: string }).license).toBe('MIT');
  });

  it("ships the dev console's script and stylesheet where its compiled routes read them (no build step for users)", () => {
    const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const paths = (JSON.parse(output) as PackListing[])[0]!.files.map((file) => file.path);
    for (const path of ['dist/targets/local/dev/console/routes.js', 'src/targets/local/dev/console/static/console.js', 'src/targets/local/dev/console/static/console.css']) expect(paths).toContain(path);
    expect(paths.filter((path) => path.startsWith('src/targets/local/dev/console/') && !path.includes('/static/'))).toEqual([]);
  });
});
