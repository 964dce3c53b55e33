/**
 * `report.html` of an audit bundle: one self-contained page an auditor reads in any browser —
 * inline CSS, no scripts, no external assets. Every value from the evidence is escaped. Pure.
 */
import type { AuditEvent } from '../state/audit-log.js';
import type { SegmentSummary } from './chain.js';
import type { Evidence, Section } from './evidence.js';

export interface ReportInputs {
  tenant: string;
  generatedAt: string;
  toolVersion: string;
  signerFingerprint: string;
  since: string | null;
  evidence: Evidence;
  events: SegmentSummary;
  sections: Section[];
  /** Files of the bundle other than the report and the manifest. */
  files: Array<{ path: string; sha256: string; size: number }>;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const e = escapeHtml;

function table(headers: string[], rows: string[][], options: { id?: string; empty?: string } = {}): string {
  if (rows.length === 0) return `<p class="empty">${e(options.empty ?? 'None.')}</p>`;
  const head = headers.map((h) => `<th scope="col">${e(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table${options.id ? ` id="${e(options.id)}"` : ''}><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function section(id: string, title: string, body: string): string {
  return `<section id="${e(id)}"><h2>${e(title)}</h2>\n${body}\n</section>`;
}

function notAvailable(sections: Section[], id: string): string | undefined {
  const s = sections.find((x) => x.id === id);
  return s && s.status === 'not available' ? `<p class="na"><strong>Not available.</strong> ${e(s.reason ?? '')}</p>` : undefined;
}

const code = (v: unknown) => `<code>${e(v)}</code>`;
const list = (items: unknown[]) => items.map((i) => code(i)).join('<br>');
const badge = (text: string, kind: 'ok' | 'bad' | 'warn' | 'muted') => `<span class="badge ${kind}">${e(text)}</span>`;

const CSS = `
:root{color-scheme:light}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1b1f24;background:#fff}
header{background:#0f2a44;color:#fff;padding:20px 32px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;opacity:.9}
main{padding:8px 32px 48px;max-width:1200px}
nav ol{columns:2;padding-left:20px}
h2{border-bottom:2px solid #0f2a44;padding-bottom:4px;margin-top:32px;font-size:18px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #c9d1d9;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef2f6}
tbody tr:nth-child(even){background:#f8fafc}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}
dt{font-weight:600}
dd{margin:0}
.badge{display:inline-block;padding:0 6px;border-radius:4px;font-size:12px;font-weight:600}
.ok{background:#dafbe1;color:#116329}
.bad{background:#ffebe9;color:#a40e26}
.warn{background:#fff8c5;color:#7d4e00}
.muted{background:#eaeef2;color:#57606a}
.na{background:#fff8c5;border-left:4px solid #d4a72c;padding:6px 10px}
.empty{color:#57606a}
.note{color:#57606a;font-size:13px}
@media print{header{background:#fff;color:#000;border-bottom:2px solid #000}}
`;

function summary(inputs: ReportInputs): string {
  const r = inputs.evidence.tenant;
  const rows: Array<[string, string]> = [
    ['Tenant', code(r.id)],
    ['Tier', e(r.tier)],
    ['Status', e(r.status)],
    ['Stage', e(r.stage)],
    ['Stack', code(inputs.evidence.stackName)],
    ['Created', `${e(r.createdAt)} by ${e(r.createdBy)}`],
    ['Extensions enabled', r.extensions.length ? r.extensions.map((x) => code(x)).join(', ') : 'none'],
    ['Deploys', e((r.deploys ?? []).length)],
    ['Audit events in bundle', e(inputs.events.tenantEvents)],
    ['Events since', e(inputs.since ?? 'the start of the log')],
    ['Bundle generated', e(inputs.generatedAt)],
    ['Tool', `sovereign ${e(inputs.toolVersion)}`],
    ['Signer (SHA-256 of the Ed25519 public key)', code(inputs.signerFingerprint)],
  ];
  const dl = `<dl>${rows.map(([k, v]) => `<dt>${e(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
  const verify = `<p class="note">To check this bundle: <code>sovereign audit verify &lt;bundle&gt; --key &lt;public key&gt;</code>. It checks the seal over every byte of the compressed file, the signature of <code>manifest.json</code>, the SHA-256 of every file, that no file is missing or added, and the hash chain of the audit events.</p>`;
  return section('summary', 'Tenant summary', dl + verify);
}

function resources(inputs: ReportInputs): string {
  const na = notAvailable(inputs.sections, 'stack');
  if (na) return section('resources', 'Resources', na);
  const rows = inputs.evidence.resources.map((r) => [code(r.logicalId), e(r.type), code(r.name)]);
  return section('resources', 'Resources', `<p class="note">The tenant's dedicated stack; the full template is <code>stack/template.json</code>.</p>${table(['Logical id', 'Type', 'Name'], rows)}`);
}

function policy(inputs: ReportInputs): string {
  const na = notAvailable(inputs.sections, 'iam');
  if (na || !inputs.evidence.policy) return section('iam-policy', 'IAM policy', na ?? '');
  const rows = inputs.evidence.policy.Statement.map((s) => [code(s.Sid), e(s.Effect), list(s.Action), list(s.Resource), s.Condition ? code(s.Condition) : '']);
  return section('iam-policy', 'IAM policy', `<p class="note">Role <code>${e(inputs.evidence.stackName)}-runtime</code>: the base runtime policy plus the enabled extensions' declared permissions, nothing more.</p>${table(['Sid', 'Effect', 'Actions', 'Resources', 'Condition'], rows, { id: 'policy-table' })}`);
}

const ISOLATION_KINDS = ['parameters', 'secrets', 'table', 'logs', 'extension', 'stage-key'] as const;

function isolation(inputs: ReportInputs): string {
  const na = notAvailable(inputs.sections, 'iam');
  const proof = inputs.evidence.isolation;
  if (na || !proof) return section('isolation', 'Isolation matrix', na ?? '');
  const { matrix, tenant } = proof;
  const others = matrix.tenants.filter((t) => t !== tenant);
  const cellText = (subject: string, target: string, kind: string): string => {
    const cell = matrix.cells.find((c) => c.subject === subject && c.target === target && c.kind === kind);
    if (!cell) return '<span class="muted">—</span>';
    return cell.decision === 'denied' ? `${badge('DENY', 'ok')} <span class="note">${e(cell.checked)} checked</span>` : `${badge('ALLOW', 'bad')} ${e(cell.allowed.length)} request(s)`;
  };
  const row = (subject: string, target: string) => [
    `${code(subject)} → ${target === '*' ? 'stage key' : code(target)}`,
    ...ISOLATION_KINDS.map((kind) => cellText(subject, target, kind)),
  ];
  const rows: string[][] = [];
  for (const other of others) rows.push(row(tenant, other));
  if (matrix.cells.some((c) => c.subject === tenant && c.target === '*')) rows.push(row(tenant, '*'));
  for (const other of others) rows.push(row(other, tenant));
  const ownDenied = matrix.ownDenied.filter((d) => d.tenant === tenant);
  const leaks = matrix.cells.filter((c) => c.decision === 'ALLOWED');
  const verdict = proof.ok
    ? `<p>${badge('ISOLATED', 'ok')} The runtime policy of <code>${e(tenant)}</code> reaches none of the ${e(others.length)} other tenant(s)' parameters, secrets, table, logs or extension resources, no other tenant's policy reaches <code>${e(tenant)}</code>'s, and its own runtime reads are allowed (${e(matrix.checked)} requests evaluated).</p>`
    : `<p>${badge('NOT ISOLATED', 'bad')} ${e(leaks.length)} cross-tenant cell(s) allow access and ${e(ownDenied.length)} of the tenant's own runtime reads are denied; see <code>iam/isolation-proof.json</code>.</p>`;
  const incomplete = proof.incomplete.length > 0 ? `<p class="na">The extensions of ${e(proof.incomplete.join(', '))} could not be loaded: their extension resources were not probed.</p>` : '';
  const note = `<p class="note">Method: ${e(proof.method)}. Evaluated for account ${e(proof.evaluatedWith.account)}, region ${e(proof.evaluatedWith.region)}, stage ${e(proof.evaluatedWith.stage)}. The full matrix, with the number of requests checked per cell and any allowed request, is in <code>iam/isolation-proof.json</code>.</p>`;
  return section('isolation', 'Isolation matrix', verdict + incomplete + table(['Policy → resources of', 'Parameters', 'Secrets', 'Table', 'Logs', 'Extension resources', 'Stage key'], rows, { id: 'isolation-matrix', empty: 'There are no other tenants in this stage.' }) + note);
}

function secrets(inputs: ReportInputs): string {
  const s = inputs.sections.find((x) => x.id === 'secrets');
  const rows = inputs.evidence.secrets.map((x) => [
    code(x.key),
    code(x.reference),
    x.storage === 'stored' ? e(x.versions.length) : badge(x.storage, x.storage === 'missing' ? 'warn' : 'muted'),
    x.currentVersionId ? code(x.currentVersionId) : '',
    e(x.lastRotatedAt ?? (x.setAt ? `set ${x.setAt}` : 'unknown')),
    x.ageDays === null ? 'unknown' : `${e(x.ageDays)} d`,
    x.stale ? badge('older than 90 days', 'bad') : x.ageDays === null ? badge('unknown', 'muted') : badge('ok', 'ok'),
  ]);
  const note = s?.reason ? `<p class="na">${e(s.reason)}</p>` : '';
  return section('secrets', 'Secrets', `<p class="note">References and version metadata only — no secret value is in this bundle.</p>${note}${table(['Key', 'Reference', 'Versions', 'Current version', 'Last rotation', 'Age', 'Rotation'], rows, { id: 'secrets-table' })}`);
}

function callers(inputs: ReportInputs): string {
  const auth = inputs.evidence.auth;
  if (!auth) return section('auth', 'Route authentication and API keys', '<p class="na"><strong>Not available.</strong> This bundle carries no caller evidence.</p>');
  const { deployed, configured } = auth.callers;
  const c = deployed ?? configured;
  const same = deployed !== null && JSON.stringify(deployed) === JSON.stringify(configured);
  const rules =
    (deployed === null
      ? '<p class="na">No deploy of this tenant recorded its caller rules; these are the ones the project\'s configuration gives it now.</p>'
      : same
        ? '<p class="note">The caller rules of the last successful deploy (the configuration gives the same).</p>'
        : '<p class="na">The caller rules of the last successful deploy. The configuration now gives other ones (<code>auth.json</code>, <code>callers.configured</code>): the next deploy changes them.</p>') +
    `<dl>${[
      ['JWT issuers', c.issuers.length ? list(c.issuers) : 'none (no JWT callers)'],
      ['Audiences', c.audiences.length ? list(c.audiences) : 'none'],
      ['Tenant claim', c.tenantClaim === null ? 'none (an issuer of this tenant only)' : code(c.tenantClaim)],
      ['API keys', c.apiKeys ? 'accepted' : 'refused'],
    ].map(([k, v]) => `<dt>${e(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
  const routeRows = auth.routes.map((r) => [
    code(r.method),
    code(r.path),
    r.auth === 'public' ? badge('public', 'warn') : badge('required', 'ok'),
    r.scopes.length ? `at least one of ${list(r.scopes)}` : r.auth === 'public' ? 'anyone' : 'any caller of this tenant',
  ]);
  const keys =
    auth.keys === null
      ? `<p class="na"><strong>Not available.</strong> ${e(auth.keysUnavailable ?? '')}</p>`
      : table(
          ['Name', 'Id', 'Scopes', 'Created', 'Last used', 'Expires'],
          auth.keys.map((k) => [code(k.name), code(k.id), k.scopes.length ? list(k.scopes) : 'none', `${e(k.createdAt)} by ${e(k.createdBy)}`, e(k.lastUsedAt ?? 'never'), e(k.expiresAt ?? 'never')]),
          { id: 'keys-table', empty: 'The tenant has no active API keys.' },
        ) + (auth.expiredKeys ? `<p class="note">${e(auth.expiredKeys)} expired key(s) are still stored and refused; revoke them with <code>sovereign tenant keys revoke</code>.</p>` : '');
  return section(
    'auth',
    'Route authentication and API keys',
    `<p class="note">Who may call the tenant's API: the caller rules it is deployed with, each route of its enabled extensions with its requirement (a route with scopes needs a token or key carrying at least one), and its active API keys. Key names and metadata only — no key and no key hash is in this bundle (<code>auth.json</code>).</p>${rules}` +
      table(['Method', 'Path', 'Auth', 'Scopes'], routeRows, { id: 'routes-table', empty: 'No routes: no extension is enabled (or none loads).' }) +
      keys,
  );
}

function timeline(inputs: ReportInputs): string {
  const r = inputs.evidence.tenant;
  type Row = { at: string; what: string; by: string; detail: string };
  const items: Row[] = [
    ...(r.transitions ?? []).map((t) => ({ at: t.at, what: `status ${t.from ?? '(new)'} → ${t.to}`, by: t.by, detail: e(t.reason ?? '') })),
    ...(r.deploys ?? []).map((d) => ({
      at: d.at,
      what: `deploy (${d.target}) ${d.outcome}`,
      by: d.by,
      detail: `artifact ${code(d.artifact)}; extensions ${e(d.extensions.join(', ') || 'none')}${d.error ? `; error ${e(d.error)}` : ''}`,
    })),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return section('timeline', 'Deploy timeline', table(['When', 'What', 'By', 'Detail'], items.map((i) => [e(i.at), e(i.what), e(i.by), i.detail]), { empty: 'No deploys or status changes recorded.' }));
}

function extensions(inputs: ReportInputs): string {
  const na = notAvailable(inputs.sections, 'extensions');
  if (na) return section('extensions', 'Extensions', na);
  const rows = inputs.evidence.extensions.map((x) => [
    code(x.name),
    e(x.version ?? ''),
    x.status === 'ok' ? badge('ok', 'ok') : `${badge(x.status, 'bad')} ${e(x.problems.join('; '))}`,
    code(x.codeSha256),
    e(x.routes.length),
    x.permissions.map((p) => `${list(p.actions)} on ${list(p.resources)}`).join('<br>'),
  ]);
  return section('extensions', 'Extensions', table(['Name', 'Version', 'Status', 'Code SHA-256', 'Routes', 'Permissions'], rows, { empty: 'No extensions are enabled for this tenant.' }));
}

function eventRow(ev: AuditEvent): string[] {
  return [e(ev.seq), e(ev.time), e(ev.actor), e(ev.action), ev.outcome === 'success' ? badge('success', 'ok') : `${badge('failure', 'bad')} ${e(ev.error ?? '')}`, Object.keys(ev.args ?? {}).length ? code(ev.args) : '', code(ev.hash.slice(0, 16))];
}

function events(inputs: ReportInputs): string {
  const s = inputs.events;
  const shown = s.recent.length;
  const counts = Object.entries(s.actions).sort(([a], [b]) => (a < b ? -1 : 1)).map(([action, n]) => [code(action), e(n)]);
  const head = `<p>${e(s.tenantEvents)} event(s) of this tenant${s.since ? ` since ${e(s.since)}` : ''}, from seq ${e(s.anchor.seq + 1)} to the log's head at seq ${e(s.head.seq)} (hash <code>${e(s.head.hash)}</code>). ${shown < s.tenantEvents ? `The newest ${e(shown)} are listed; all are in <code>audit/events.jsonl</code>.` : 'All are listed below and in <code>audit/events.jsonl</code>.'}</p>`;
  const chain = `<p class="note">Chain evidence (<code>audit/chain.jsonl</code>): the hash before the segment, the last hash of each of the ${e(s.gapRuns)} run(s) of other events between this tenant's, and the head. Each event's <code>prevHash</code> links to what precedes it and its <code>hash</code> is the SHA-256 of its canonical JSON.</p>`;
  return section('events', 'Audit events', head + chain + table(['Action', 'Count'], counts) + table(['Seq', 'Time', 'Actor', 'Action', 'Outcome', 'Arguments', 'Hash'], s.recent.map(eventRow), { id: 'events-table', empty: 'No audit events.' }));
}

function controls(inputs: ReportInputs): string {
  const has = (id: string) => inputs.sections.find((s) => s.id === id)?.status === 'included';
  const status = (ids: string[]) => (ids.every(has) ? badge('evidence included', 'ok') : badge('partly not available', 'warn'));
  const rows: string[][] = [
    [
      e('SOC 2 CC6.1 — Logical access'),
      e('Access to tenant data is restricted to the tenant\'s own runtime role, least privilege.'),
      'IAM policy table; isolation matrix; secret references (no values); <code>iam/runtime-policy.json</code>, <code>iam/isolation-proof.json</code>, <code>secrets/references.json</code>',
      status(['iam', 'secrets']),
    ],
    [
      e('SOC 2 CC7.2 — Monitoring'),
      e('Security-relevant activity is recorded in a tamper-evident log and reviewed.'),
      'Audit events with hash chain; secret rotation age flags; <code>audit/events.jsonl</code>, <code>audit/chain.jsonl</code>',
      status(['audit', 'secrets']),
    ],
    [
      e('SOC 2 CC8.1 — Change management'),
      e('Changes to the tenant\'s infrastructure and code are authorised, recorded and traceable.'),
      'Deploy timeline; rendered stack template; extension code hashes; <code>tenant/deploys.json</code>, <code>stack/template.json</code>, <code>extensions/*.json</code>',
      status(['tenant', 'stack', 'extensions']),
    ],
    [
      e('HIPAA §164.312(b) — Audit controls'),
      e('Mechanisms that record and examine activity in systems containing ePHI.'),
      'Hash-chained audit events signed into this bundle; <code>manifest.json</code> signature (Ed25519)',
      status(['audit']),
    ],
  ];
  return section('controls', 'Control mapping', table(['Control', 'Objective', 'Evidence in this bundle', 'Status'], rows, { id: 'controls-table' }));
}

function contents(inputs: ReportInputs): string {
  const sectionRows = inputs.sections.map((s) => [e(s.title), s.status === 'included' ? badge('included', 'ok') : badge('not available', 'warn'), e(s.reason ?? ''), s.files.map((f) => code(f)).join('<br>')]);
  const fileRows = inputs.files.map((f) => [code(f.path), e(f.size), code(f.sha256)]);
  return section(
    'contents',
    'Bundle contents',
    table(['Section', 'Status', 'Note', 'Files'], sectionRows) +
      `<p class="note">SHA-256 of each file as listed in the signed <code>manifest.json</code> (which also lists this report).</p>` +
      table(['File', 'Bytes', 'SHA-256'], fileRows),
  );
}

/** Renders the report. */
export function renderReport(inputs: ReportInputs): string {
  const nav = [
    ['summary', 'Tenant summary'],
    ['resources', 'Resources'],
    ['iam-policy', 'IAM policy'],
    ['isolation', 'Isolation matrix'],
    ['secrets', 'Secrets'],
    ['auth', 'Route authentication and API keys'],
    ['timeline', 'Deploy timeline'],
    ['extensions', 'Extensions'],
    ['events', 'Audit events'],
    ['controls', 'Control mapping'],
    ['contents', 'Bundle contents'],
  ]
    .map(([id, title]) => `<li><a href="#${id}">${e(title)}</a></li>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Audit report — tenant ${e(inputs.tenant)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>Audit report — tenant ${e(inputs.tenant)}</h1><p>Generated ${e(inputs.generatedAt)} by sovereign ${e(inputs.toolVersion)}</p></header>
<main>
<nav aria-label="Contents"><ol>${nav}</ol></nav>
${summary(inputs)}
${resources(inputs)}
${policy(inputs)}
${isolation(inputs)}
${secrets(inputs)}
${callers(inputs)}
${timeline(inputs)}
${extensions(inputs)}
${events(inputs)}
${controls(inputs)}
${contents(inputs)}
</main>
</body>
</html>
`;
}
