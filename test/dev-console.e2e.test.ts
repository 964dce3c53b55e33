/**
 * The dev console as a developer meets it, in a real headless Chromium against the real
 * `sovereign dev` with two tenants:
 * - the URL dev prints signs the browser in (an HttpOnly, SameSite=Strict cookie on /_sovereign/)
 *   and drops the token from the address bar; without it every page and data endpoint is 401;
 * - the pages render live data (tenants, traffic charts, logs with filters, secret references,
 *   the audit chain), the charts follow traffic sent meanwhile, and a tenant suspended with the
 *   CLI shows as suspended within 2 s;
 * - attacks: a tenant host or a rebound DNS name asking for the console, a cross-site request with
 *   the cookie, the cookie used on dev's own endpoints, a hostile tenant page on the shared
 *   `/t/<tenant>/` origin reading the console with the developer's cookie, and markup in a
 *   tenant's config and log lines;
 * - a secret canary is in no response the browser or the test received, in no encoding, and every
 *   request the pages make goes to loopback. Screenshots are kept in `test-results/`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { makeProject, repoRoot, runCli } from './helpers/cli.js';
import { killDev, startDevCli, type RunningDev } from './helpers/dev.js';
import { waitFor, write } from './helpers/wait.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI) {
  throw new Error(`${CHROMIUM} is missing; CI must install Debian's chromium (apt-get install -y chromium) for the console test`);
}
if (!available) console.warn(`skipping the dev console browser test: ${CHROMIUM} is not installed (apt-get install -y chromium); under CI it is required`);

const CANARY = 'CanaryConsole7f3a9c2e51d8';
const MARKUP = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';

const PROBE_MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({
  name: 'probe',
  version: '1.0.0',
  description: 'traffic, log lines with markup, and a page that reads the console from the tenant path',
  routes: [
    { method: 'GET', path: '/hello', handler: 'hello', auth: 'public' },
    { method: 'GET', path: '/page', handler: 'page', auth: 'public' },
  ],
  secrets: [{ key: 'token', description: 'the canary' }],
  permissions: [],
});
`;
// Uses its secret (never returns or logs it) and logs markup and an error line.
const HELLO = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (_request, ctx) => {
  const token = await ctx.secrets.get('token');
  ctx.log.info('hello <script>window.__pwned=3</script> served', { length: token.length });
  ctx.log.error('hello failed on purpose');
  return { ok: true };
});
`;
// The attack: a page of the tenant's, served on dev's own origin (localhost:<port>/t/acme/...),
// reads the console with whatever cookie the browser holds for that origin.
const PAGE = `import { defineHandler } from 'sovereign-cli/runtime';
const html = '<!doctype html><title>tenant page</title><pre id="out">pending</pre><script>' +
  'fetch("/_sovereign/console/api/overview", { credentials: "include" })' +
  '.then(async (r) => { document.getElementById("out").textContent = "status " + r.status + " " + (await r.text()); })' +
  '.catch((e) => { document.getElementById("out").textContent = "blocked " + e.name; });' +
  '</script>';
export const handler = defineHandler(async () => ({ status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: html }));
`;

let dir: string;
let dev: RunningDev | undefined;
const pids = new Set<number>();
const env = { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host', SOVEREIGN_LOCK_WAIT_MS: '5000', CI: '1' };
let port: number;
let consoleUrl: string;
const results = join(repoRoot, 'test-results');

/** Every body the test itself received from dev, checked for the canary at the end. */
const received: Array<{ url: string; body: string }> = [];

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A GET to dev's gateway with exactly these headers (Host included), over node:http. */
function get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', headers: { host: `localhost:${port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        received.push({ url: path, body });
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;

let browser: Browser;
let context: BrowserContext;
let page: Page;
const browserRequests: string[] = [];
const browserBodies: Array<Promise<{ url: string; body: string } | undefined>> = [];

function watch(p: Page): void {
  p.on('request', (request) => browserRequests.push(request.url()));
  p.on('response', (response) => browserBodies.push(response.body().then((b) => ({ url: response.url(), body: b.toString() }), () => undefined)));
}

beforeAll(async () => {
  if (!available) return;
  dir = await makeProject();
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify({ ...config, defaults: { tier: 'premium', extensions: ['probe'] } }, null, 2));
  write(join(dir, 'extensions', 'probe', 'extension.ts'), PROBE_MANIFEST);
  write(join(dir, 'extensions', 'probe', 'handlers', 'hello.ts'), HELLO);
  write(join(dir, 'extensions', 'probe', 'handlers', 'page.ts'), PAGE);
  for (const id of ['acme', 'globex']) {
    const created = await runCli(['tenant', 'create', id, '--no-deploy'], { cwd: dir, env });
    expect(created.exitCode, created.stderr).toBe(0);
    const reference = `ssm:/dev/tenants/${id}/probe/token`;
    const put = await runCli(['secrets', 'put', reference, '--tenant', id, '--from-stdin'], { cwd: dir, env, input: `${CANARY}-${id}` });
    expect(put.exitCode, put.stderr).toBe(0);
    const set = await runCli(['secrets', 'set', id, 'probe.token', reference], { cwd: dir, env });
    expect(set.exitCode, set.stderr).toBe(0);
  }
  // globex is deployed (active, so it can be suspended); acme stays as created.
  const deployed = await runCli(['tenant', 'deploy', 'globex'], { cwd: dir, env, timeout: 120_000 });
  expect(deployed.exitCode, deployed.stderr).toBe(0);
  // Someone with write access to the project folder plants markup in globex's config.
  const recordFile = join(dir, '.sovereign', 'tenants', 'globex.json');
  const record = JSON.parse(readFileSync(recordFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(recordFile, JSON.stringify({ ...record, config: { probe: { banner: MARKUP } } }, null, 2));

  dev = await startDevCli(dir, env);
  pids.add(dev.pid);
  port = dev.port;
  consoleUrl = (dev.result as { console: string }).console;
  for (const id of ['acme', 'globex']) await waitFor(`${id} to serve`, async () => ((await get(`/t/${id}/probe/hello`)).status === 200 ? true : undefined), 60_000);

  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  page = await context.newPage();
  watch(page);
  mkdirSync(results, { recursive: true });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await killDev(dev, pids);
});

describe.skipIf(!available)('the dev console', { timeout: 90_000 }, () => {
  it('is printed by dev as a URL with a token of its own, kept only in dev.json', () => {
    expect(consoleUrl).toMatch(new RegExp(`^http://localhost:${port}/_sovereign/console\\?token=[A-Za-z0-9_-]{43}$`));
    const state = JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')) as { token: string; consoleToken: string };
    expect(state.consoleToken).toBe(tokenOf(consoleUrl));
    // Not dev's own credential: the URL opens the console and nothing else.
    expect(state.consoleToken).not.toBe(state.token);
    expect(dev!.stderr()).not.toContain(state.consoleToken);
  });

  it('answers 401 without the token or the cookie, on every page and data endpoint', async () => {
    for (const path of ['/_sovereign/console', '/_sovereign/console/logs', '/_sovereign/console/secrets', '/_sovereign/console/audit', '/_sovereign/console/api/overview', '/_sovereign/console/api/logs', '/_sovereign/console/static/console.js']) {
      const answer = await get(path);
      expect(answer.status, path).toBe(401);
      expect(answer.body).not.toContain('globex');
    }
    expect((await get('/_sovereign/console?token=' + 'A'.repeat(43))).status).toBe(401);
    expect((await get('/_sovereign/console', { cookie: `sovereign_console=${tokenOf(consoleUrl)}` })).status).toBe(401);
    const bearer = await get('/_sovereign/console/api/overview', { authorization: `Bearer ${tokenOf(consoleUrl)}` });
    expect(bearer.status).toBe(200);

    const fresh = await browser.newPage();
    watch(fresh);
    const refused = await fresh.goto(`http://localhost:${port}/_sovereign/console`);
    expect(refused!.status()).toBe(401);
    expect(await fresh.locator('h1').innerText()).toBe('Sign-in needed');
    await fresh.close();
  });

  it('signs the browser in with the printed URL: an HttpOnly, SameSite=Strict cookie, and the token out of the address bar', async () => {
    const first = await page.goto(consoleUrl);
    expect(first!.status()).toBe(200);
    expect(page.url()).toBe(`http://localhost:${port}/_sovereign/console`);
    expect(await page.evaluate('location.href')).not.toContain('token');
    const cookies = await context.cookies(`http://localhost:${port}/_sovereign/console`);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: 'sovereign_console', httpOnly: true, sameSite: 'Strict', path: '/_sovereign/' });
    expect(cookies[0]!.value).not.toBe(tokenOf(consoleUrl));
    expect(await page.evaluate('document.cookie')).toBe('');

    const headers = first!.headers();
    expect(headers['content-security-policy']).toContain("default-src 'self'");
    expect(headers['content-security-policy']).toContain("script-src 'self'");
    expect(headers['x-frame-options']).toBe('DENY');
    expect(Object.keys(headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('shows both tenants with status, tier, extensions and deploy, and live charts that follow traffic', async () => {
    await page.goto(`http://localhost:${port}/_sovereign/console`);
    const rows = page.locator('#tenants tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const acme = page.locator('#tenants tr[data-tenant="acme"]');
    expect(await acme.locator('[data-field="status"]').innerText()).toBe('provisioning');
    const acmeText = await acme.innerText();
    expect(acmeText).toContain('premium');
    expect(acmeText).toContain('probe');
    expect(acmeText).toContain('never deployed');
    const globex = page.locator('#tenants tr[data-tenant="globex"]');
    expect(await globex.locator('[data-field="status"]').innerText()).toBe('active');
    expect(await globex.innerText()).toMatch(/success local [0-9a-f]{12}/);

    const chart = page.locator('.tenant-charts[data-tenant="acme"] figure[data-metric="rps"] svg');
    await expect.poll(() => chart.count(), { timeout: 5000 }).toBe(1);
    // Per minute: the requests below land in the current minute, or the one before if a minute ends meanwhile.
    const current = async () => Math.max(...(await chart.getAttribute('data-values'))!.split(',').slice(-2).map(Number));
    const requestsCell = page.locator('#traffic tr[data-tenant="acme"] [data-field="requests"]');
    const before = Number(await requestsCell.innerText());
    for (let i = 0; i < 30; i += 1) expect((await get('/t/acme/probe/hello')).status).toBe(200);
    await expect.poll(async () => Number(await requestsCell.innerText()), { timeout: 5000 }).toBeGreaterThanOrEqual(before + 30);
    await expect.poll(current, { timeout: 5000 }).toBeGreaterThan(0);
    // Every chart is drawn; p99 of acme's traffic is a measured number.
    expect(await page.locator('.tenant-charts svg').count()).toBe(8);
    expect(await page.locator('.tenant-charts[data-tenant="acme"] figure[data-metric="p99"] svg').getAttribute('aria-label')).toMatch(/latest \d/);
    await page.screenshot({ path: join(results, 'dev-console-overview.png'), fullPage: true });
  });

  it('shows a tenant suspended in the CLI as suspended within 2 s', async () => {
    await page.goto(`http://localhost:${port}/_sovereign/console`);
    const status = page.locator('#tenants tr[data-tenant="globex"] [data-field="status"]');
    expect(await status.innerText()).not.toBe('suspended');
    const suspended = await runCli(['tenant', 'suspend', 'globex', '--reason', 'console test'], { cwd: dir, env });
    expect(suspended.exitCode, suspended.stderr).toBe(0);
    const since = Date.now();
    await expect.poll(() => status.innerText(), { timeout: 2000, interval: 50 }).toBe('suspended');
    expect(Date.now() - since).toBeLessThan(2000);
    expect(await status.getAttribute('class')).toBe('bad');
  });

  it('renders markup in a tenant\'s config and log lines as text', async () => {
    await page.goto(`http://localhost:${port}/_sovereign/console`);
    const config = page.locator('#tenants tr[data-tenant="globex"] details pre');
    expect(await config.textContent()).toContain(MARKUP.replace(/"/g, '\\"'));
    await page.goto(`http://localhost:${port}/_sovereign/console/logs?tenant=acme&q=pwned`);
    const rows = page.locator('#logs tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThan(0);
    expect(await rows.first().innerText()).toContain('hello <script>window.__pwned=3</script> served');
    // Let the script refresh the table at least once: it writes text too.
    await page.waitForFunction("document.getElementById('live')?.textContent?.includes('updated')");
    expect(await rows.first().innerText()).toContain('<script>window.__pwned=3</script>');
    expect(await page.locator('main script, main img').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
  });

  it('filters log lines by tenant, level and text, without JavaScript too', async () => {
    const noJs = await browser.newContext({ javaScriptEnabled: false });
    await noJs.addCookies(await context.cookies());
    const plain = await noJs.newPage();
    watch(plain);
    await plain.goto(`http://localhost:${port}/_sovereign/console/logs?tenant=acme&level=error`);
    const levels = await plain.locator('#logs tbody tr td:nth-child(3)').allInnerTexts();
    expect(levels.length).toBeGreaterThan(0);
    expect(new Set(levels)).toEqual(new Set(['error']));
    expect(new Set(await plain.locator('#logs tbody tr td:nth-child(2)').allInnerTexts())).toEqual(new Set(['acme']));
    await plain.goto(`http://localhost:${port}/_sovereign/console/logs?q=${encodeURIComponent('on purpose')}`);
    const messages = await plain.locator('#logs tbody tr td:nth-child(5)').allInnerTexts();
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.every((m) => m === 'hello failed on purpose')).toBe(true);
    await plain.goto(`http://localhost:${port}/_sovereign/console`);
    expect(await plain.locator('#tenants tbody tr').count()).toBe(2);
    await noJs.close();

    await page.goto(`http://localhost:${port}/_sovereign/console/logs?level=warn`);
    await page.screenshot({ path: join(results, 'dev-console-logs.png'), fullPage: true });
  });

  it('lists each tenant\'s secret references with age and rotation state, never values', async () => {
    await page.goto(`http://localhost:${port}/_sovereign/console/secrets`);
    for (const id of ['acme', 'globex']) {
      const row = page.locator(`table.secrets[data-tenant="${id}"] tbody tr`);
      expect(await row.count()).toBe(1);
      const text = await row.innerText();
      expect(text).toContain('probe.token');
      expect(text).toContain(`ssm:/dev/tenants/${id}/probe/token`);
      expect(text).toContain('0 d');
      expect(await row.locator('[data-field="rotation"]').innerText()).toBe('ok');
    }
    await page.screenshot({ path: join(results, 'dev-console-secrets.png'), fullPage: true });
  });

  it('shows the audit chain\'s status as audit log --verify reports it', async () => {
    const verify = await runCli(['audit', 'log', '--verify', '--json'], { cwd: dir, env });
    expect(verify.exitCode, verify.stderr).toBe(0);
    const report = JSON.parse(verify.stdout) as { events: number; lastSeq: number };
    await page.goto(`http://localhost:${port}/_sovereign/console/audit`);
    expect(await page.locator('#audit-status').innerText()).toBe('intact');
    const audit = await page.locator('#audit').innerText();
    expect(audit).toContain(`Events\n${report.events}`);
    expect(audit).toContain(`Last seq\n${report.lastSeq}`);
    await page.screenshot({ path: join(results, 'dev-console-audit.png'), fullPage: true });
  });

  it('refuses the console on a tenant host, on a rebound DNS name, and to cross-site requests, even with the cookie', async () => {
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    expect((await get('/_sovereign/console', { cookie })).status).toBe(200);

    // A tenant host, and a tenant's path on the gateway's host: the gateway answers, the tenant never sees it.
    const token = tokenOf(consoleUrl);
    for (const [host, path] of [[`acme.localhost:${port}`, `/_sovereign/console?token=${token}`], [`localhost:${port}`, `/t/acme/_sovereign/console?token=${token}`]] as const) {
      const answer = await get(path, { host, cookie });
      expect(answer.status, host + path).toBe(404);
      expect(JSON.parse(answer.body)).toMatchObject({ type: 'https://sovereign.dev/problems/console-not-here' });
      expect(answer.headers['set-cookie']).toBeUndefined();
    }
    // The same from the browser, which resolves <tenant>.localhost to loopback itself.
    const tenantHost = await page.goto(`http://acme.localhost:${port}/_sovereign/console`);
    expect(tenantHost!.status()).toBe(404);
    expect(await page.locator('#tenants').count()).toBe(0);
    const acmeLog = readFileSync(join(dir, '.sovereign', 'data', 'acme', 'runtime.log'), 'utf8');
    expect(acmeLog).not.toContain(token);

    // DNS rebinding: a page of evil.example whose name now points at 127.0.0.1.
    const rebound = await get('/_sovereign/console', { host: `evil.example:${port}`, cookie });
    expect(rebound.status).toBe(421);
    expect(rebound.body).not.toContain('acme');
    // Loopback, but on another port: not dev's gateway.
    expect((await get('/_sovereign/console', { host: `localhost:${port + 1}`, cookie })).status).toBe(421);

    // Another site's page (a <tenant>.localhost one among them) sending the cookie along.
    for (const site of ['same-site', 'cross-site']) {
      const answer = await get('/_sovereign/console/api/overview', { cookie, 'sec-fetch-site': site });
      expect(answer.status, site).toBe(403);
      expect(answer.body).not.toContain('acme');
    }
    // The cookie opens the console only, not dev's own endpoints (POST /_sovereign/dev/invoke among them).
    expect((await get('/_sovereign/dev/stats', { cookie })).status).toBe(401);
    expect((await get('/_sovereign/dev/logs?tenant=globex', { cookie })).status).toBe(401);
  });

  it('keeps a hostile tenant page on the shared /t/<tenant>/ origin from reading the console with the developer\'s cookie', async () => {
    const hostile = await context.newPage();
    watch(hostile);
    const answer = await hostile.goto(`http://localhost:${port}/t/acme/probe/page`);
    const out = hostile.locator('#out');
    await expect.poll(() => out.innerText(), { timeout: 10_000 }).not.toBe('pending');
    const seen = await out.innerText();
    expect(seen).not.toContain('globex');
    expect(seen).not.toMatch(/^status 200/);
    expect(answer!.headers()['content-security-policy']).toContain('sandbox');
    await hostile.close();
  });

  it('never sends the secret canary, in any encoding, and every request the pages made went to loopback', async () => {
    const bodies = (await Promise.all(browserBodies)).filter((b) => b !== undefined);
    expect(bodies.length).toBeGreaterThan(10);
    expect(bodies.some((b) => b.url.includes('/api/overview'))).toBe(true);
    const all = [...bodies, ...received];
    for (const id of ['acme', 'globex']) {
      const value = `${CANARY}-${id}`;
      const forms = [value, CANARY, Buffer.from(value).toString('base64'), Buffer.from(value).toString('base64url'), Buffer.from(value).toString('hex'), encodeURIComponent(value)];
      for (const { url, body } of all) for (const form of forms) expect(body.includes(form), `${form} in ${url}`).toBe(false);
    }
    expect(browserRequests.length).toBeGreaterThan(10);
    for (const url of browserRequests) {
      const host = new URL(url).hostname;
      expect(['localhost', '127.0.0.1', '[::1]'].includes(host) || host.endsWith('.localhost'), url).toBe(true);
    }
  });

  it('prints the console URL for people too, with a new token on each run', async () => {
    const first = tokenOf(consoleUrl);
    await killDev(dev, pids);
    const { execa } = await import('execa');
    const child = execa('node', [join(repoRoot, 'bin', 'sovereign.js'), 'dev', '--port', '0'], { cwd: dir, env, reject: false, stdin: 'ignore' });
    pids.add(child.pid!);
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      const line = await waitFor('the console line', () => /^Console \(read-only, this run only\): (http:\/\/localhost:\d+\/_sovereign\/console\?token=[A-Za-z0-9_-]{43})$/m.exec(stdout)?.[1], 90_000);
      expect(tokenOf(line)).not.toBe(first);
      // The old run's cookie does not open the new run's console.
      const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
      port = Number(new URL(line).port);
      expect((await get('/_sovereign/console', { cookie })).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
      await child;
    }
  });
});
