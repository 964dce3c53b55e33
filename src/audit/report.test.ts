import { describe, expect, it } from 'vitest';
import { breakable, conditionText, escapeHtml, renderReport } from './report.js';
import type { Evidence } from './evidence.js';
import type { TenantRecord } from '../state/registry.js';

const record: TenantRecord = {
  id: 'acme',
  tier: 'basic',
  status: 'active',
  stage: 'dev',
  createdAt: '2026-01-01T00:00:00.000Z',
  createdBy: '<img src=x onerror=alert(1)>@host',
  updatedAt: '2026-01-01T00:00:00.000Z',
  extensions: [],
  secrets: {},
  config: {},
  deploys: [],
  transitions: [],
};

/** The report of `evidence` for an empty log, with `sections`. */
function reportOf(evidence: Evidence, sections: Parameters<typeof renderReport>[0]['sections'] = [], kind: Parameters<typeof renderReport>[0]['kind'] = null): string {
  return renderReport({
    tenant: 'acme',
    kind,
    generatedAt: '2026-01-02T00:00:00.000Z',
    toolVersion: '0.1.0',
    signerFingerprint: 'f'.repeat(64),
    since: null,
    evidence,
    events: { tenantEvents: 0, segmentEvents: 0, gapRuns: 0, anchor: { seq: 0, hash: '0'.repeat(64) }, head: { seq: 0, hash: '0'.repeat(64) }, since: null, firstTime: null, lastTime: null, actions: {}, recent: [] },
    sections,
    files: [],
  });
}

describe('report.html', () => {
  it('escapes every value and marks sections that are not available', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const evidence: Evidence = {
      sections: [],
      documents: new Map(),
      tenant: record,
      extensions: [],
      secrets: [],
      policy: undefined,
      isolation: undefined,
      resources: [],
      stackName: 'sovereign-dev-acme',
      parameters: undefined,
    };
    const html = reportOf(evidence, [{ id: 'iam', title: 'IAM policy and isolation proof', status: 'not available', files: [], reason: 'extension <b>x</b> does not load' }]);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;@host');
    expect(html).toContain('<strong>Not available.</strong> extension &lt;b&gt;x&lt;/b&gt; does not load');
    expect(html).not.toMatch(/<script|<link|src="http|href="http/i);
    expect(html).toContain("Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"");
  });

  it('lists each route with its requirement and the active keys, escaped, or says why the keys are not there', () => {
    const base: Evidence = { sections: [], documents: new Map(), tenant: record, extensions: [], secrets: [], policy: undefined, isolation: undefined, resources: [], stackName: 'sovereign-dev-acme', parameters: undefined };
    // Break opportunities and unbreakable times are layout: the rows are compared without them.
    const render = (evidence: Evidence) => reportOf(evidence).replaceAll('<wbr>', '').replace(/<span class="nowrap">([^<]*)<\/span>/g, '$1');
    const auth = {
      tenant: 'acme',
      note: '',
      callers: { deployed: { issuers: ['https://issuer.example/acme'], audiences: ['api'], tenantClaim: null, apiKeys: true }, configured: { issuers: ['https://issuer.example/acme'], audiences: ['api'], tenantClaim: null, apiKeys: false } },
      routes: [
        { extension: 'shop', method: 'GET', path: '/shop/status', auth: 'public' as const, scopes: [] },
        { extension: 'shop', method: 'POST', path: '/shop/orders', auth: 'required' as const, scopes: ['orders:write', 'orders:admin'] },
        { extension: 'shop', method: 'GET', path: '/shop/orders', auth: 'required' as const, scopes: [] },
      ],
      keys: [{ name: 'erp', id: 'key_0123456789abcdef', scopes: ['orders:write'], createdAt: '2026-01-01T00:00:00.000Z', createdBy: '<b>ops</b>@host', lastUsedAt: null, expiresAt: '2026-04-01T00:00:00.000Z' }],
      expiredKeys: 2,
    };
    const html = render({ ...base, auth });
    expect(html).toContain('<h2>Route authentication and API keys</h2>');
    expect(html).toContain('<tr><td><code>GET</code></td><td><code>/shop/status</code></td><td><span class="badge warn">public</span></td><td>anyone</td></tr>');
    expect(html).toContain('<tr><td><code>POST</code></td><td><code>/shop/orders</code></td><td><span class="badge ok">required</span></td><td>at least one of <code>orders:write</code><br><code>orders:admin</code></td></tr>');
    expect(html).toContain('<td>any caller of this tenant</td>');
    expect(html).toContain('<tr><td><code>erp</code></td><td><code>key_0123456789abcdef</code></td><td><code>orders:write</code></td><td>2026-01-01T00:00:00.000Z by &lt;b&gt;ops&lt;/b&gt;@host</td><td>never</td><td>2026-04-01T00:00:00.000Z</td></tr>');
    expect(html).toContain('2 expired key(s)');
    expect(html).toContain('none (an issuer of this tenant only)');
    // The deployed rules are shown, and that the configuration has moved on from them.
    expect(html).toContain('<dt>API keys</dt><dd>accepted</dd>');
    expect(html).toContain('the next deploy changes them');
    const undeployed = render({ ...base, auth: { ...auth, callers: { deployed: null, configured: auth.callers.configured } } });
    expect(undeployed).toContain('No deploy of this tenant recorded its caller rules');
    expect(undeployed).toContain('<dt>API keys</dt><dd>refused</dd>');

    const unread = render({ ...base, auth: { ...auth, keys: null, expiredKeys: null, keysUnavailable: 'the API keys could not be read: <denied>' } });
    expect(unread).toContain('<strong>Not available.</strong> the API keys could not be read: &lt;denied&gt;');
    expect(unread).not.toContain('keys-table');
    expect(render(base)).toContain('This bundle carries no caller evidence.');
  });
});

describe('report.html text', () => {
  it('offers a line break after the separators of an identifier, never inside a word or an escape', () => {
    expect(breakable('arn:aws:ssm:us-east-1:000000000000:parameter/dev/tenants/acme/*')).toBe('arn:<wbr>aws:<wbr>ssm:<wbr>us-<wbr>east-<wbr>1:<wbr>000000000000:<wbr>parameter/<wbr>dev/<wbr>tenants/<wbr>acme/<wbr>*');
    // A leading separator stays with its word; `.` keeps a file name whole; markup is escaped whole.
    expect(breakable('_usage')).toBe('_usage');
    expect(breakable('iam/isolation-proof.json')).toBe('iam/<wbr>isolation-<wbr>proof.json');
    expect(breakable(`x"<script>'&'</script>`)).toBe('x&quot;&lt;script&gt;&#39;&amp;<wbr>&#39;&lt;/<wbr>script&gt;');
    expect(breakable({ a: 1 })).toBe('{&quot;a&quot;:<wbr>1}');
  });

  it('reads a condition as key, operator and values, one test a line', () => {
    const html = conditionText({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['acme#*', '<b>'] }, Null: { 'dynamodb:LeadingKeys': 'false' } });
    const text = html.replaceAll('<wbr>', '').replace(/<[^>]+>/g, (tag) => (tag === '</li>' ? '\n' : ''));
    expect(text).toBe('dynamodb:LeadingKeys ForAllValues:StringLike acme#*, &lt;b&gt;\ndynamodb:LeadingKeys Null false\n');
  });
});

describe('report.html evidence kind', () => {
  it('says what kind of evidence the bundle is as its target stated it, escaped, or that it was not stated', () => {
    const evidence: Evidence = { sections: [], documents: new Map(), tenant: record, extensions: [], secrets: [], policy: undefined, isolation: undefined, resources: [], stackName: 'sovereign-dev-acme', parameters: undefined };
    const cloud = reportOf(evidence, [], { kind: 'cloud-account', records: 'the <i>control-plane</i> tables', isolation: 'an offline evaluation' });
    expect(cloud).toContain('<dt>Evidence</dt><dd><span class="badge ok">read from the cloud account</span> records from the &lt;i&gt;control-plane&lt;/i&gt; tables</dd>');
    expect(reportOf(evidence)).toContain('<span class="badge warn">not stated</span> the exporter did not say what kind of evidence this bundle is');
  });
});
