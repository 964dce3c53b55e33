import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, runCli } from './helpers/cli.js';

// A crash at every file-system call of every mutating command, a crash while recovering, and a
// torn audit append are in crash-points.e2e.test.ts; this file keeps concurrency and the lock.

describe('crash safety', () => {
  it('lets exactly one of ten concurrent creates of the same tenant succeed; the others exit 4', async () => {
    const dir = await makeProject();
    const results = await Promise.all(Array.from({ length: 10 }, () => runCli(['tenant', 'create', 'contested', '--no-deploy'], { cwd: dir, env: { SOVEREIGN_LOCK_WAIT_MS: '20000' } })));
    const codes = results.map((r) => r.exitCode).sort();
    expect(codes).toEqual([0, 4, 4, 4, 4, 4, 4, 4, 4, 4]);
    for (const r of results.filter((x) => x.exitCode === 4)) expect(r.stderr).toMatch(/tenant "contested" already exists|locked by/);
    const verify = await runCli(['audit', 'log', '--verify', '--json'], { cwd: dir });
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, events: 10 });
  }, 120_000);

  it('makes a second command wait, then exit 4 naming the holder pid, while the lock is held', async () => {
    const dir = await makeProject();
    const { writeFileSync, mkdirSync } = await import('node:fs');
    const { hostname } = await import('node:os');
    mkdirSync(join(dir, '.sovereign'), { recursive: true });
    // a live holder: this test's own process
    writeFileSync(join(dir, '.sovereign', 'lock'), JSON.stringify({ pid: process.pid, host: hostname(), command: 'tenant deploy', startedAt: new Date().toISOString() }));
    const blocked = await runCli(['tenant', 'create', 'waiting', '--no-deploy'], { cwd: dir, env: { SOVEREIGN_LOCK_WAIT_MS: '300' } });
    expect(blocked.exitCode).toBe(4);
    expect(blocked.stderr).toContain(`locked by \`tenant deploy\` (pid ${process.pid}`);
    // a dead holder's lock is recovered
    writeFileSync(join(dir, '.sovereign', 'lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), command: 'tenant create', startedAt: new Date().toISOString() }));
    const recovered = await runCli(['tenant', 'create', 'waiting', '--no-deploy'], { cwd: dir });
    expect(recovered.exitCode, recovered.stderr).toBe(0);
    expect(existsSync(join(dir, '.sovereign', 'lock'))).toBe(false);
  });
});
