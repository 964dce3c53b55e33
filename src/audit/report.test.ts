import { describe, expect, it } from 'vitest';
import { escapeHtml, renderReport } from './report.js';
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
    const html = renderReport({
      tenant: 'acme',
      generatedAt: '2026-01-02T00:00:00.000Z',
      toolVersion: '0.1.0',
      signerFingerprint: 'f'.repeat(64),
      since: null,
      evidence,
      events: { tenantEvents: 0, segmentEvents: 0, gapRuns: 0, anchor: { seq: 0, hash: '0'.repeat(64) }, head: { seq: 0, hash: '0'.repeat(64) }, since: null, firstTime: null, lastTime: null, actions: {}, recent: [] },
      sections: [{ id: 'iam', title: 'IAM policy and isolation proof', status: 'not available', files: [], reason: 'extension <b>x</b> does not load' }],
      files: [],
    });
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;@host');
    expect(html).toContain('<strong>Not available.</strong> extension &lt;b&gt;x&lt;/b&gt; does not load');
    expect(html).not.toMatch(/<script|<link|src="http|href="http/i);
    expect(html).toContain("Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"");
  });
});
