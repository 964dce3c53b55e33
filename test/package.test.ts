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
});
