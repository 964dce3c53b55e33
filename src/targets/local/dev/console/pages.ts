/**
 * The console's pages, rendered on the server: every table is there without JavaScript, and every
 * value of a tenant, a log line or the project goes through {@link escapeHtml} (a tenant's config or
 * log line may hold markup). The one script (`static/console.js`) only redraws charts and refreshes
 * tables, and writes text with `textContent`.
 */
import { CONSOLE_PATH } from './guard.js';
import { auditSummary, CONSOLE_MINUTES, LOG_LEVELS, type AuditStatus, type ConsoleLogLine, type LogQuery, type OverviewDocument, type TenantOverview, type TenantSecrets } from './data.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in HTML content and in quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}
const e = escapeHtml;

const PAGES = [
  { id: 'overview', path: CONSOLE_PATH, title: 'Tenants' },
  { id: 'logs', path: `${CONSOLE_PATH}/logs`, title: 'Logs' },
  { id: 'secrets', path: `${CONSOLE_PATH}/secrets`, title: 'Secrets' },
  { id: 'audit', path: `${CONSOLE_PATH}/audit`, title: 'Audit' },
] as const;

type PageId = (typeof PAGES)[number]['id'];

function layout(page: PageId, audit: AuditStatus, body: string, options: { attributes?: Record<string, string>; refresh?: boolean } = {}): string {
  const title = PAGES.find((p) => p.id === page)!.title;
  const summary = auditSummary(audit);
  const attributes = Object.entries({ 'data-page': page, ...options.attributes })
    .map(([k, v]) => ` ${k}="${e(v)}"`)
    .join('');
  const nav = PAGES.map((p) => `<a href="${e(p.path)}"${p.id === page ? ' aria-current="page"' : ''}>${e(p.title)}</a>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)} — sovereign dev console</title>
<link rel="stylesheet" href="${CONSOLE_PATH}/static/console.css">
${options.refresh ? '<noscript><meta http-equiv="refresh" content="5"></noscript>\n' : ''}<script src="${CONSOLE_PATH}/static/console.js" defer></script>
</head>
<body${attributes}>
<header>
<h1>sovereign dev</h1>
<nav>${nav}</nav>
<p id="audit-badge" class="${summary.ok ? 'ok' : 'bad'}">Audit chain: <span data-field="audit">${e(summary.text)}</span></p>
</header>
<main>
<h2>${e(title)}</h2>
${body}
</main>
<footer>Read-only. Served by this <code>sovereign dev</code> run on loopback; its token ends with the run.</footer>
</body>
</html>
`;
}

const ms = (v: number | null) => (v === null ? '–' : v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`);

function deployCell(t: TenantOverview): string {
  if (!t.deploy) return '<span class="muted">never deployed</span>';
  const d = t.deploy;
  return `<span class="${d.outcome === 'success' ? 'ok' : 'bad'}">${e(d.outcome)}</span> ${e(d.target)} <code>${e(d.artifact)}</code><br><span class="muted">${e(d.at.slice(0, 19).replace('T', ' '))}</span>${d.error ? `<br><span class="bad">${e(d.error)}</span>` : ''}`;
}

function configCell(t: TenantOverview): string {
  const names = Object.keys(t.config);
  if (names.length === 0) return '<span class="muted">none</span>';
  return `<details><summary>${e(names.join(', '))}</summary><pre>${e(JSON.stringify(t.config, null, 2))}</pre></details>`;
}

/** `/_sovereign/console`: every served tenant, and its traffic over the last minutes. */
export function overviewPage(doc: OverviewDocument, audit: AuditStatus): string {
  const rows = doc.tenants.map(
    (t) => `<tr data-tenant="${e(t.id)}">
<th scope="row">${e(t.id)}</th>
<td data-field="status" class="${t.suspended ? 'bad' : t.status === 'active' ? 'ok' : 'muted'}">${e(t.status)}</td>
<td>${e(t.tier)}</td>
<td>${t.extensions.length ? t.extensions.map((x) => `<code>${e(x)}</code>`).join(' ') : '<span class="muted">none</span>'}</td>
<td>${deployCell(t)}</td>
<td data-field="process">${e(t.process)}</td>
<td data-field="environments">${e(t.environments)}</td>
<td data-field="restarts">${e(t.restarts)}</td>
<td>${configCell(t)}</td>
</tr>`,
  );
  const traffic = doc.tenants.map((t) => {
    const window = t.series.reduce((sum, p) => ({ errors: sum.errors + p.errors, throttled: sum.throttled + p.throttled, requests: sum.requests + p.requests }), { errors: 0, throttled: 0, requests: 0 });
    return `<tr data-tenant="${e(t.id)}"><th scope="row">${e(t.id)}</th><td data-field="rps">${e(t.totals.rps.toFixed(1))}</td><td data-field="requests">${e(window.requests)}</td><td data-field="errors">${e(window.errors)}</td><td data-field="p99">${e(ms(t.totals.p99))}</td><td data-field="throttled">${e(window.throttled)}</td></tr>`;
  });
  const charts = doc.tenants.map(
    (t) => `<section class="tenant-charts" data-tenant="${e(t.id)}">
<h3>${e(t.id)}</h3>
${[
  ['rps', 'requests/s'],
  ['errors', 'errors (5xx)'],
  ['p99', 'p99 latency (ms)'],
  ['throttled', 'throttled (429)'],
]
  .map(([metric, label]) => `<figure class="chart" data-metric="${metric}"><figcaption>${e(label)}</figcaption><div class="plot"></div></figure>`)
  .join('\n')}
</section>`,
  );
  const spans = CONSOLE_MINUTES.map((m) => (m === doc.minutes ? `<strong>${m} min</strong>` : `<a href="${CONSOLE_PATH}?minutes=${m}">${m} min</a>`)).join(' · ');
  const body = `<table id="tenants">
<thead><tr><th>Tenant</th><th>Status</th><th>Tier</th><th>Extensions</th><th>Last deploy</th><th>Process</th><th>Environments</th><th>Restarts</th><th>Config</th></tr></thead>
<tbody>${rows.join('\n') || '<tr><td colspan="9" class="muted">No tenant is served: <code>sovereign tenant create &lt;id&gt;</code> starts one here.</td></tr>'}</tbody>
</table>
<h2>Traffic, last ${e(doc.minutes)} minutes</h2>
<p class="muted">Span: ${spans}. Counted at the gateway; per minute, the current minute last.</p>
<table id="traffic">
<thead><tr><th>Tenant</th><th>Requests/s now</th><th>Requests</th><th>Errors</th><th>p99 now</th><th>Throttled</th></tr></thead>
<tbody>${traffic.join('\n')}</tbody>
</table>
<div id="charts">${charts.join('\n')}</div>`;
  return layout('overview', audit, body, { attributes: { 'data-minutes': String(doc.minutes) }, refresh: true });
}

/** The rows of the logs table. */
function logRows(lines: ConsoleLogLine[]): string {
  if (lines.length === 0) return '<tr><td colspan="6" class="muted">No matching log lines.</td></tr>';
  return lines
    .map((l) => `<tr class="level-${e(l.level)}"><td>${e(l.time.slice(11, 23))}</td><td>${e(l.tenant)}</td><td>${e(l.level)}</td><td>${e(l.extension ?? '')}</td><td>${e(l.message)}</td><td><code>${e(l.fields)}</code></td></tr>`)
    .join('\n');
}

/** `/_sovereign/console/logs`: the newest lines of every tenant's log, filtered by a plain GET form. */
export function logsPage(lines: ConsoleLogLine[], query: LogQuery, tenants: string[], audit: AuditStatus): string {
  const option = (value: string, label: string, selected: boolean) => `<option value="${e(value)}"${selected ? ' selected' : ''}>${e(label)}</option>`;
  const form = `<form id="log-filter" method="get" action="${CONSOLE_PATH}/logs">
<label>Tenant <select name="tenant">${option('', 'all', query.tenant === null)}${tenants.map((t) => option(t, t, query.tenant === t)).join('')}</select></label>
<label>Level <select name="level">${option('', 'any', query.level === null)}${LOG_LEVELS.map((l) => option(l, `${l} and above`, query.level === l)).join('')}</select></label>
<label>Text <input type="search" name="q" value="${e(query.text ?? '')}"></label>
<button type="submit">Filter</button>
</form>`;
  const body = `${form}
<p class="muted">The newest ${e(query.limit)} matching lines, oldest first.</p>
<table id="logs">
<thead><tr><th>Time (UTC)</th><th>Tenant</th><th>Level</th><th>Extension</th><th>Message</th><th>Fields</th></tr></thead>
<tbody>${logRows(lines)}</tbody>
</table>`;
  return layout('logs', audit, body, { refresh: true });
}

/** `/_sovereign/console/secrets`: references with age and rotation state, never values. */
export function secretsPage(doc: { rotationMaxAgeDays: number; tenants: TenantSecrets[] }, audit: AuditStatus): string {
  const sections = doc.tenants.map((t) => {
    const rows = t.secrets.map(
      (s) => `<tr><td><code>${e(s.mapping)}</code></td><td><code>${e(s.reference)}</code></td><td>${e(s.versionId ? s.versionId.slice(0, 13) : '–')}</td><td>${e(s.setAt.slice(0, 19).replace('T', ' '))}</td><td>${e(s.lastRotatedAt ? s.lastRotatedAt.slice(0, 19).replace('T', ' ') : 'never')}</td><td>${e(s.ageDays === null ? 'unknown' : `${s.ageDays} d`)}</td><td class="${s.rotation === 'ok' ? 'ok' : 'bad'}" data-field="rotation">${e(s.rotation === 'due' ? `due (older than ${doc.rotationMaxAgeDays} days)` : s.rotation)}${s.detail ? `<br><span class="muted">${e(s.detail)}</span>` : ''}</td></tr>`,
    );
    const table = t.problem
      ? `<p class="bad">${e(t.problem)}</p>`
      : rows.length === 0
        ? '<p class="muted">No secrets mapped.</p>'
        : `<table class="secrets" data-tenant="${e(t.tenant)}"><thead><tr><th>Secret</th><th>Reference</th><th>Version</th><th>Set (UTC)</th><th>Last rotated (UTC)</th><th>Age</th><th>Rotation</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
    return `<section data-tenant="${e(t.tenant)}"><h3>${e(t.tenant)}</h3>${table}</section>`;
  });
  const body = `<p class="muted">References and version metadata, as <code>sovereign secrets list</code> reads them; no value is read or shown. Rotation is due after ${e(doc.rotationMaxAgeDays)} days.</p>
${sections.join('\n') || '<p class="muted">No tenant is served.</p>'}`;
  return layout('secrets', audit, body);
}

/** `/_sovereign/console/audit`: what `sovereign audit log --verify` reports. */
export function auditPage(audit: AuditStatus): string {
  const r = audit.result;
  const summary = auditSummary(audit);
  const rows: Array<[string, string]> = [['Status', `<span class="${summary.ok ? 'ok' : 'bad'}" id="audit-status">${e(summary.ok ? 'intact' : 'not intact')}</span>`]];
  if (r) {
    rows.push(['Events', e(r.events)], ['Last seq', e(r.lastSeq)], ['Head hash', `<code>${e(r.lastHash.slice(0, 16))}…</code>`]);
    rows.push(['Signed checkpoint', r.checkpoint ? `seq ${e(r.checkpoint.seq)} at ${e(r.checkpoint.time)} by <code>${e(r.checkpoint.signer)}</code>` : '<span class="muted">none</span>']);
    if (r.lastTrusted) rows.push(['Last trusted checkpoint', `seq ${e(r.lastTrusted.seq)} at ${e(r.lastTrusted.time)}`]);
    if (r.problem) rows.push(['Problem', `<span class="bad">${e(summary.text)}</span>`]);
    for (const repair of r.repairs) rows.push(['Repaired', `seq ${e(repair.seq)}: a torn line of ${e(repair.tornBytes)} bytes was cut off`]);
    if (r.pending) rows.push(['Pending', `seq ${e(r.pending.seq)}: an interrupted command's checkpoint is staged; the next command completes it`]);
  } else rows.push(['Problem', `<span class="bad">${e(audit.problem)}</span>`]);
  rows.push(['Checked', e(audit.checkedAt.slice(0, 19).replace('T', ' '))]);
  const body = `<dl id="audit">${rows.map(([k, v]) => `<dt>${e(k)}</dt><dd>${v}</dd>`).join('')}</dl>
<p class="muted">Verified again whenever the log or its checkpoints change. <code>sovereign audit log --verify</code> gives the same answer with an exit code.</p>`;
  return layout('audit', audit, body);
}

/** The page of a refused request (401/403/421). */
export function refusedPage(status: number, reason: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${e(status)} — sovereign dev console</title></head>
<body><main><h1>${e(status === 401 ? 'Sign-in needed' : 'Refused')}</h1><p>${e(reason)}</p></main></body></html>
`;
}
