/**
 * `report.html` as an auditor sees it: opened from disk in a real headless Chromium with no
 * network, its sections read by their headings, the isolation matrix and the control mapping
 * read from the rendered tables. A screenshot is kept in `test-results/`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';
import { bundleEntries, makeAuditProject } from './audit-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI) {
  throw new Error(`${CHROMIUM} is missing; CI must install Debian's chromium (apt-get install -y chromium) for the report test`);
}
if (!available) console.warn(`skipping the report.html browser test: ${CHROMIUM} is not installed (apt-get install -y chromium); under CI it is required`);

const results = join(repoRoot, 'test-results');
let reportFile: string;

beforeAll(async () => {
  if (!available) return;
  const project = await makeAuditProject();
  const result = await runCli(['audit', 'export', '--tenant', 'acme', '--out', 'acme.tar.gz'], { cwd: project.dir });
  expect(result.exitCode, result.stderr).toBe(0);
  const html = bundleEntries(join(project.dir, 'acme.tar.gz')).get('report.html')!;
  mkdirSync(results, { recursive: true });
  reportFile = join(results, 'audit-report.html');
  writeFileSync(reportFile, html);
});

describe.skipIf(!available)('report.html in a headless browser', () => {
  it('shows every section, the isolation matrix and the control mapping, with no external request', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      await page.goto(pathToFileURL(reportFile).href);

      expect(await page.title()).toBe('Audit report — tenant acme');
      const headings = (await page.locator('h2').allInnerTexts()).map((h) => h.trim());
      expect(headings).toEqual(['Tenant summary', 'Resources', 'IAM policy', 'Isolation matrix', 'Secrets', 'Route authentication and API keys', 'Deploy timeline', 'Extensions', 'Audit events', 'Control mapping', 'Bundle contents']);

      // Isolation: acme → globex and globex → acme, every kind denied.
      const matrix = page.locator('#isolation-matrix');
      await expect.poll(() => matrix.isVisible()).toBe(true);
      const rows = await matrix.locator('tbody tr').allInnerTexts();
      expect(rows.some((r) => /^acme → globex/.test(r))).toBe(true);
      expect(rows.some((r) => /^globex → acme/.test(r))).toBe(true);
      for (const row of rows.filter((r) => r.includes('globex'))) {
        expect(row).not.toContain('ALLOW');
        expect(row.match(/DENY/g)?.length ?? 0).toBeGreaterThanOrEqual(5);
      }
      expect(await page.locator('#isolation').innerText()).toContain('ISOLATED');

      // Control mapping: the four controls with their evidence.
      const controls = await page.locator('#controls-table tbody tr').allInnerTexts();
      expect(controls.map((c) => c.split('\t')[0]!.trim())).toEqual([
        'SOC 2 CC6.1 — Logical access',
        'SOC 2 CC7.2 — Monitoring',
        'SOC 2 CC8.1 — Change management',
        'HIPAA §164.312(b) — Audit controls',
      ]);
      expect(controls.every((c) => c.includes('evidence included'))).toBe(true);

      // The old secret is flagged; the policy table names the runtime statements.
      const secrets = await page.locator('#secrets-table tbody tr').allInnerTexts();
      expect(secrets.find((r) => r.includes('avalara.account_id'))).toContain('older than 90 days');
      expect(secrets.find((r) => r.includes('avalara.license_key'))).not.toContain('older than 90 days');
      const policy = await page.locator('#policy-table').innerText();
      for (const sid of ['RuntimeLogs', 'RuntimeTable', 'RuntimeParameters', 'RuntimeSecrets', 'ExtAvalara1']) expect(policy).toContain(sid);

      // Escaped, not executed or interpreted: the deploy error's markup is shown as text.
      const timeline = await page.locator('#timeline').innerText();
      expect(timeline).toContain('build failed <script>alert(1)</script>');
      expect(await page.locator('#timeline script').count()).toBe(0);
      const events = await page.locator('#events-table tbody tr').count();
      expect(events).toBeGreaterThanOrEqual(1);

      expect(requests.filter((url) => !url.startsWith('file://'))).toEqual([]);
      await page.screenshot({ path: join(results, 'audit-report.png'), fullPage: true });
      expect(existsSync(join(results, 'audit-report.png'))).toBe(true);
    } finally {
      await browser.close();
    }
  });
});
