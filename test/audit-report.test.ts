/**
 * `report.html` as an auditor sees it: opened from disk in a real headless Chromium with no
 * network, its sections read by their headings, the isolation matrix and the control mapping
 * read from the rendered tables, and every table cell's rendered lines measured so that none ends
 * inside a word. Screenshots are kept in `test-results/`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
let browser: Browser | undefined;

/** A tenant setting the report shows: markup that must stay text (25 characters, a valid avalara company code). */
const HOSTILE_SETTING = '<script>alert(1)</script>';

/**
 * Every place in a table cell (or a summary value) where a rendered line ends between two letters
 * or digits, i.e. inside a word: each character's box is read with Range.getClientRects, and a
 * character that starts a new line after a word character is a broken word. A `<br>` or a block
 * starts a new line on purpose and is not counted.
 */
async function brokenWords(page: Page): Promise<string[]> {
  // Runs in the page (a string: the tests compile without the DOM's types).
  return page.evaluate(`(() => {
    const out = [];
    const word = /[\\p{L}\\p{N}]/u;
    for (const cell of document.querySelectorAll('td, dd')) {
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
      let prev = null;
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node.nodeType === Node.ELEMENT_NODE) {
          if (node.tagName === 'BR' || getComputedStyle(node).display !== 'inline') prev = null;
          continue;
        }
        const text = node.data;
        for (let i = 0; i < text.length; i++) {
          const range = document.createRange();
          range.setStart(node, i);
          range.setEnd(node, i + 1);
          const rect = range.getClientRects()[0];
          // A space is where a line may end (a collapsed one at a line's end has no box).
          if (/\\s/.test(text[i])) prev = null;
          if (!rect || /\\s/.test(text[i])) continue;
          if (prev && rect.top >= prev.bottom - 1 && word.test(prev.ch) && word.test(text[i])) out.push(prev.before + prev.ch + '|' + text.slice(i, i + 12));
          prev = { ch: text[i], bottom: rect.bottom, before: text.slice(Math.max(0, i - 12), i) };
        }
      }
    }
    return out;
  })()`);
}

/** Tables wider than their scroll box (identified by id, or by the heading of their section). */
async function overflowingTables(page: Page): Promise<string[]> {
  return page.evaluate(`Array.from(document.querySelectorAll('.scroll')).filter((d) => d.scrollWidth > d.clientWidth + 1).map((d) => d.querySelector('table').id || d.closest('section').id)`);
}

async function openReport(width: number): Promise<{ page: Page; requests: string[] }> {
  const page = await browser!.newPage({ javaScriptEnabled: false, viewport: { width, height: 900 } });
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(pathToFileURL(reportFile).href);
  return { page, requests };
}

/** Runs `check` on the report opened at `width`, closing the page after. */
async function withReport(width: number, check: (page: Page) => Promise<void>): Promise<void> {
  const { page } = await openReport(width);
  try {
    await check(page);
  } finally {
    await page.close();
  }
}

beforeAll(async () => {
  if (!available) return;
  const project = await makeAuditProject();
  const configFile = join(project.dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(configFile, `${JSON.stringify({ ...config, tenantConfig: { avalara: { companyCode: HOSTILE_SETTING } } }, null, 2)}\n`);
  const result = await runCli(['audit', 'export', '--tenant', 'acme', '--out', 'acme.tar.gz'], { cwd: project.dir });
  expect(result.exitCode, result.stderr).toBe(0);
  const html = bundleEntries(join(project.dir, 'acme.tar.gz')).get('report.html')!;
  mkdirSync(results, { recursive: true });
  reportFile = join(results, 'audit-report.html');
  writeFileSync(reportFile, html);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!available)('report.html in a headless browser', () => {
  it('shows every section, the isolation matrix and the control mapping, with no external request', async () => {
    const { page, requests } = await openReport(1280);
    try {

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
      // The stale secret fails CC7.2's rotation check; the other controls' checks pass.
      expect(controls.map((c) => /checks passed|\d+ check\(s\) failed|partly not available/.exec(c)?.[0])).toEqual(['checks passed', '1 check(s) failed', 'checks passed', 'checks passed']);

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
      await page.close();
    }
  });

  it('breaks no word across lines in any table cell, wide or narrow', async () => {
    for (const width of [1280, 1024, 800]) {
      await withReport(width, async (page) => {
        expect(await brokenWords(page), `at ${width} px`).toEqual([]);
        await page.screenshot({ path: join(results, `audit-report-${width}.png`), fullPage: true });
        // At a desktop width nothing needs the sideways scroll: the words fit because they wrap between their parts.
        if (width === 1280) expect(await overflowingTables(page)).toEqual([]);
      });
    }
  });

  it('reads IAM conditions as key, operator and values, and resource names never as template functions', async () => {
    await withReport(1280, async (page) => {
      const items = (await page.locator('#policy-table tbody tr').allInnerTexts()).find((r) => r.startsWith('RuntimeExtensionItems'))!;
      expect(items.replace(/\s+/g, ' ')).toContain('dynamodb:LeadingKeys ForAllValues:StringLike avalara#*, cetec#*, _usage');
      expect(items.replace(/\s+/g, ' ')).toContain('dynamodb:LeadingKeys Null false');
      const policy = await page.locator('#policy-table').innerText();
      // No JSON (CloudFormation's own \${AWS::Region} placeholders stay as the template has them).
      expect(policy).not.toMatch(/\{"|"\s*:/);
      const resources = await page.locator('#resources').innerText();
      expect(resources).not.toMatch(/\{"?(Ref|Fn::)/);
      const invoke = (await page.locator('#resources tbody tr').allInnerTexts()).find((r) => r.startsWith('InvokePermission'))!;
      expect(invoke.replace(/\s+/g, ' ')).toContain('sovereign-dev-acme (of Function)');
      const key = (await page.locator('#resources tbody tr').allInnerTexts()).find((r) => r.startsWith('DataKey\t'))!;
      expect(key).toContain('named by CloudFormation');
    });
  });

  it('says the local isolation matrix is an offline evaluation, not facts of an AWS account', async () => {
    await withReport(1280, async (page) => {
      const isolation = await page.locator('#isolation').innerText();
      expect(isolation).toContain('offline evaluation');
      expect(isolation).toContain("sovereign's own IAM policy evaluator");
      expect(isolation).not.toMatch(/for account 000000000000|Evaluated for account/);
      expect(await page.locator('#summary').innerText()).toMatch(/Evidence\s+offline evaluation records from the project's \.sovereign\/ folder/);
    });
  });

  it('names, for each control, the sections and files that evidence it and each check with its outcome', async () => {
    await withReport(1280, async (page) => {
      const rows = page.locator('#controls-table tbody tr');
      const cc61 = rows.nth(0);
      const links = await cc61.locator('td').nth(2).locator('a').all();
      expect(await Promise.all(links.map((a) => a.getAttribute('href')))).toEqual(['#iam-policy', '#isolation', '#secrets', '#auth']);
      const cc61Files = await cc61.locator('td').nth(2).innerText();
      for (const file of ['iam/runtime-policy.json', 'iam/isolation-proof.json', 'secrets/references.json', 'auth.json']) expect(cc61Files).toContain(file);
      expect(cc61Files).not.toContain('not in bundle');
      const cc61Checks = await cc61.locator('td').nth(3).innerText();
      expect(cc61Checks).toMatch(/passed no cross-tenant access; the tenant reads its own resources \(\d+ requests evaluated\)/);
      const cc72Checks = (await rows.nth(1).locator('td').nth(3).innerText()).replace(/\s+/g, ' ');
      expect(cc72Checks).toContain('failed every secret rotated within 90 days (avalara.account_id is 120 days old)');
      expect(cc72Checks).toMatch(/passed the tenant's events are hash-chained/);
      expect(await rows.nth(2).locator('td').nth(2).innerText()).toContain('extensions/avalara.json');
      expect(await rows.nth(3).locator('td').nth(3).innerText()).toContain('audit verify');
    });
  });

  it('shows a tenant setting holding markup as text, in the extensions table and the events', async () => {
    await withReport(1280, async (page) => {
      const avalara = (await page.locator('#extensions tbody tr').allInnerTexts()).find((r) => r.startsWith('avalara'))!;
      expect(avalara.replace(/\s+/g, ' ')).toContain(`companyCode ${HOSTILE_SETTING}`);
      expect(await page.locator('script').count()).toBe(0);
      expect(readFileSync(reportFile, 'utf8')).not.toContain(HOSTILE_SETTING);
    });
  });
});
