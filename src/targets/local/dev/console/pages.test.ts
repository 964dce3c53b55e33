import { describe, expect, it } from 'vitest';
import type { AuditStatus, OverviewDocument } from './data.js';
import { escapeHtml, overviewPage } from './pages.js';

const audit: AuditStatus = { checkedAt: '2026-01-01T00:00:00.000Z', result: null, problem: 'no log <b>' };

describe('console pages', () => {
  it('escape every character that could open markup or leave an attribute', () => {
    expect(escapeHtml(`<script>"x" & 'y'</script>`)).toBe('&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;');
  });

  it('render a tenant whose id, config and deploy error hold markup as text only', () => {
    const hostile = '"><script>alert(1)</script>';
    const doc: OverviewDocument = {
      generatedAt: '2026-01-01T00:00:00.000Z',
      minutes: 5,
      tenants: [
        {
          id: hostile,
          status: 'active',
          suspended: false,
          tier: 'basic',
          extensions: [hostile],
          deploy: { at: '2026-01-01T00:00:00.000Z', target: 'local', outcome: 'failure', artifact: 'abc', error: hostile },
          process: 'running',
          environments: 1,
          restarts: 0,
          config: { probe: { banner: hostile } },
          totals: { requests: 0, errors: 0, throttled: 0, rps: 0, p99: null },
          series: [],
        },
      ],
    };
    const html = overviewPage(doc, audit);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('"><script');
    expect(html).not.toContain('<b>');
    // One script element: the console's own file, no inline script.
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain('<script src="/_sovereign/console/static/console.js" defer></script>');
  });
});
