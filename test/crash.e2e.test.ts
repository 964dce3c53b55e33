import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cliPath, makeProject, runCli } from './helpers/cli.js';

interface Event {
  seq: number;
  tenant: string | null;
  action: string;
  outcome: string;
}

function tenantsOnDisk(dir: string): string[] {
  const tenants = join(dir, '.sovereign', 'tenants');
  if (!existsSync(tenants)) return [];
  return readdirSync(tenants)
    .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
    .map((n) => n.slice(0, -5))
    .sort();
}

function completeEvents(dir: string): Event[] {
  const log = join(dir, '.sovereign', 'audit', 'events.jsonl');
  if (!existsSync(log)) return [];
  const text = readFileSync(log, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);
}

/** A seeded PRNG so a failing run can be reproduced. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('crash safety', () => {
  it('keeps the registry and the audit chain consistent when tenant create is SIGKILLed at random moments', async () => {
    const dir = await makeProject();
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
    const random = prng(seed);
    let killed = 0;
    for (let i = 0; i < 50; i += 1) {
      const child = execa('node', [cliPath, 'tenant', 'create', `tenant${i}`, '--no-deploy'], {
        cwd: dir,
        reject: false,
        env: { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host' },
      });
      // Node takes ~100–300 ms to reach the write path here; kill anywhere from start-up to done.
      const delay = Math.floor(random() * 400);
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      const result = await child;
      clearTimeout(timer);
      if (result.signal === 'SIGKILL') killed += 1;

      // After every run: a tenant that exists has its successful event, or a journal that
      // the next command completes (the event is in the log, the rename was cut short).
      const events = completeEvents(dir);
      const created = new Set(events.filter((e) => e.action === 'tenant.create' && e.outcome === 'success').map((e) => e.tenant));
      for (const tenant of tenantsOnDisk(dir)) expect(created.has(tenant), `seed ${seed}: ${tenant} exists without its event`).toBe(true);
    }
    expect(killed, `seed ${seed}`).toBeGreaterThan(0);

    // The chain verifies, or reports exactly the torn tail.
    const verify = await runCli(['audit', 'log', '--verify', '--json'], { cwd: dir });
    const report = JSON.parse(verify.stdout) as { ok: boolean; tornTail?: { bytes: number }; problem?: { message: string } };
    if (!report.ok) {
      expect(report.tornTail, `seed ${seed}: ${report.problem?.message}`).toBeDefined();
      expect(verify.exitCode).toBe(1);
      expect(verify.stderr).toMatch(/torn last line of \d+ bytes/);
    }

    // The next mutating command recovers: afterwards the registry and the log agree exactly.
    const after = await runCli(['tenant', 'create', 'survivor', '--no-deploy'], { cwd: dir });
    expect(after.exitCode, after.stderr).toBe(0);
    const finalVerify = await runCli(['audit', 'log', '--verify'], { cwd: dir });
    expect(finalVerify.exitCode, `seed ${seed}: ${finalVerify.stderr}`).toBe(0);
    const events = completeEvents(dir);
    const created = events.filter((e) => e.action === 'tenant.create' && e.outcome === 'success').map((e) => e.tenant as string);
    expect(tenantsOnDisk(dir), `seed ${seed}`).toEqual([...new Set(created)].sort());
    expect(new Set(created).size, `seed ${seed}: a tenant was created twice`).toBe(created.length);
    // every tenant on disk has its key; no temporary files are left behind
    for (const tenant of tenantsOnDisk(dir)) expect(existsSync(join(dir, '.sovereign', 'keys', `${tenant}.key`)), tenant).toBe(true);
    for (const sub of ['tenants', 'keys', '.']) {
      const leftovers = readdirSync(join(dir, '.sovereign', sub)).filter((n) => n.startsWith('.tmp-') || n === 'journal.json');
      expect(leftovers, `seed ${seed}`).toEqual([]);
    }
  }, 180_000);

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
