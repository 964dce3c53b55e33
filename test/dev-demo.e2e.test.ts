/**
 * The README's first command: `sovereign dev --demo` in a copy of this repository's project
 * (its config, example extensions and fake AvaTax/Cetec servers) serves acme and globex, and the
 * README's curl lines get real answers.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Options, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, repoRoot, runCli } from './helpers/cli.js';
import { openVault, readVaultKey } from '../src/runtime/secrets/vault.js';

let dev: ResultPromise<Options> | undefined;
let stderr = '';

afterAll(async () => {
  if (dev && dev.exitCode === null) {
    dev.kill('SIGKILL');
    await dev;
  }
});

describe('sovereign dev --demo', () => {
  it('creates acme and globex and serves the example extensions against the fakes', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sovereign-demo-')), 'repo');
    for (const part of ['sovereign.config.json', 'extensions', join('test', 'fakes')]) cpSync(join(repoRoot, part), join(dir, part), { recursive: true });
    const child: ResultPromise<Options> = execa('node', [cliPath, 'dev', '--demo', '--port', '0', '--json'], {
      cwd: dir,
      reject: false,
      stdin: 'ignore',
      env: { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host', CI: '1' },
    } as Options);
    dev = child;
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const deadline = Date.now() + 120_000;
    let ready: { port: number; tenants: Array<{ id: string }> } | undefined;
    while (!ready) {
      if (Date.now() > deadline) throw new Error(`dev --demo did not start: ${stderr}`);
      if (child.exitCode !== null && child.exitCode !== undefined) throw new Error(`dev --demo exited: ${stderr}`);
      try {
        ready = JSON.parse(stdout) as typeof ready;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(ready!.tenants.map((t) => t.id)).toEqual(['acme', 'globex']);
    const base = `http://127.0.0.1:${ready!.port}`;

    // As the README does: a route refuses a caller without a token, and answers one minted by `auth token`.
    expect((await fetch(`${base}/t/acme/avalara/ping`)).status).toBe(401);
    const bearer = async (tenant: string) => {
      const minted = await runCli(['auth', 'token', '--tenant', tenant], { cwd: dir });
      expect(minted.exitCode, minted.stderr).toBe(0);
      return { authorization: `Bearer ${minted.stdout.trim()}` };
    };
    const acme = await bearer('acme');
    const ping = await fetch(`${base}/t/acme/avalara/ping`, { headers: acme });
    expect(ping.status).toBe(200);
    expect(await ping.json()).toMatchObject({ authenticated: true });

    const quote = await fetch(`${base}/t/acme/avalara/quotes`, {
      method: 'POST',
      headers: { ...acme, 'content-type': 'application/json' },
      body: JSON.stringify({ customerCode: 'C-1', shipTo: { region: 'CA' }, lines: [{ amount: 100 }] }),
    });
    expect(quote.status).toBe(200);
    expect(await quote.json()).toMatchObject({ totalAmount: 100, totalTax: 7.25 });

    const invoices = await fetch(`${base}/t/globex/cetec/invoices?limit=2`, { headers: await bearer('globex') });
    expect(invoices.status).toBe(200);
    expect(((await invoices.json()) as { items: unknown[] }).items).toHaveLength(2);

    // Each tenant has its own credentials in its own vault, and no value reaches a log.
    const vault = openVault(join(dir, '.sovereign', 'vault', 'acme.vault'), readVaultKey(join(dir, '.sovereign', 'keys', 'acme.key')), 'acme');
    const licenseKey = vault.readSecret('secretsmanager:dev/tenants/acme/avalara:license_key');
    expect(licenseKey.length).toBeGreaterThan(8);
    const log = readFileSync(join(dir, '.sovereign', 'data', 'acme', 'runtime.log'), 'utf8');
    expect(log).toContain('cold start complete');
    expect(log).not.toContain(licenseKey);
    expect(stderr + stdout).not.toContain(licenseKey);
    expect(stderr).toMatch(/dev ready port=\d+ tenants=acme,globex/);

    child.kill('SIGTERM');
    const result = await child;
    expect(result.exitCode, stderr).toBe(0);
    expect(existsSync(join(dir, '.sovereign', 'dev.json'))).toBe(false);
  }, 180_000);
});
