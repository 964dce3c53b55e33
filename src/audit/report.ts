/**
 * `report.html` of an audit bundle: one self-contained page an auditor reads in any browser —
 * inline CSS, no scripts, no external assets. Every value from the evidence is escaped. Pure.
 */
import type { AuditEvent } from '../state/audit-log.js';
import type { SegmentSummary } from './chain.js';
import { ROTATION_MAX_AGE_DAYS as ROTATION_DAYS, type Evidence, type Section } from './evidence.js';
import type { AuditEvidenceKind } from './manifest.js';

export interface ReportInputs {
  tenant: string;
  /** What kind of evidence the bundle is, as its target says; null when the exporter did not say. */
  kind: AuditEvidenceKind | null;
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

/** Separators after which a long identifier (an ARN, a reference, a path, a time) may wrap; not `.`, so a file name or host name keeps its suffix. */
const BREAK_AFTER = /(?<=[^\s/:\-,#=@_|&][/:\-,#=@_|&]+)(?=[^\s/:\-,#=@_|&])/u;

/**
 * Escaped text with a break opportunity (`<wbr>`) after each separator, so a long identifier wraps
 * between its parts and never inside a word; the CSS lets a line break nowhere else.
 */
export function breakable(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text.split(BREAK_AFTER).map((part) => escapeHtml(part)).join('<wbr>');
}

function table(headers: string[], rows: string[][], options: { id?: string; empty?: string } = {}): string {
  if (rows.length === 0) return `<p class="empty">${e(options.empty ?? 'None.')}</p>`;
  const head = headers.map((h) => `<th scope="col">${e(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  // Too narrow a window scrolls a table sideways rather than break a word in it.
  return `<div class="scroll"><table${options.id ? ` id="${e(options.id)}"` : ''}><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

function section(id: string, title: string, body: string): string {
  return `<section id="${e(id)}"><h2>${e(title)}</h2>\n${body}\n</section>`;
}

function notAvailable(sections: Section[], id: string): string | undefined {
  const s = sections.find((x) => x.id === id);
  return s && s.status === 'not available' ? `<p class="na"><strong>Not available.</strong> ${e(s.reason ?? '')}</p>` : undefined;
}

const code = (v: unknown) => `<code>${breakable(v)}</code>`;
/** A hex digest: one token, never wrapped (its column is as wide as it). */
const digest = (v: string) => `<code class="digest">${e(v)}</code>`;
/** An ISO time, kept on one line. */
const time = (v: string | null | undefined) => (v ? `<span class="nowrap">${e(v)}</span>` : '');
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
th,td{border:1px solid #c9d1d9;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word;word-break:normal;hyphens:manual}
th{background:#eef2f6}
tbody tr:nth-child(even){background:#f8fafc}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:break-word;word-break:normal}
.digest,.nowrap{white-space:nowrap}
.scroll{overflow-x:auto}
.op{font-size:12px;color:#57606a}
ul.plain{margin:0;padding:0;list-style:none}
ul.plain li+li{margin-top:2px}
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

const KIND_LABELS: Record<AuditEvidenceKind['kind'], string> = {
  offline: 'offline evaluation',
  'cloud-account': 'read from the cloud account',
};

/** What kind of evidence the bundle is, where its records come from. */
function kindText(kind: AuditEvidenceKind | null): string {
  if (!kind) return `${badge('not stated', 'warn')} the exporter did not say what kind of evidence this bundle is`;
  return `${badge(KIND_LABELS[kind.kind], kind.kind === 'offline' ? 'muted' : 'ok')} records from ${e(kind.records)}`;
}

function summary(inputs: ReportInputs): string {
  const r = inputs.evidence.tenant;
  const rows: Array<[string, string]> = [
    ['Tenant', code(r.id)],
    ['Tier', e(r.tier)],
    ['Status', e(r.status)],
    ['Stage', e(r.stage)],
    ['Stack', code(inputs.evidence.stackName)],
    ['Evidence', kindText(inputs.kind)],
    ['Created', `${e(r.createdAt)} by ${e(r.createdBy)}`],
    ['Extensions enabled', r.extensions.length ? r.extensions.map((x) => code(x)).join(', ') : 'none'],
    ['Deploys', e((r.deploys ?? []).length)],
    ['Audit events in bundle', e(inputs.events.tenantEvents)],
    ['Events since', e(inputs.since ?? 'the start of the log')],
    ['Bundle generated', e(inputs.generatedAt)],
    ['Tool', `sovereign ${e(inputs.toolVersion)}`],
    ['Signer (SHA-256 of the Ed25519 public key)', digest(inputs.signerFingerprint)],
  ];
  const dl = `<dl>${rows.map(([k, v]) => `<dt>${e(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
  const verify = `<p class="note">To check this bundle: <code>sovereign audit verify &lt;bundle&gt; --key &lt;public key&gt;</code>. It checks the seal over every byte of the compressed file, the signature of <code>manifest.json</code>, the SHA-256 of every file, that no file is missing or added, and the hash chain of the audit events.</p>`;
  return section('summary', 'Tenant summary', dl + verify);
}

function resources(inputs: ReportInputs): string {
  const na = notAvailable(inputs.sections, 'stack');
  if (na) return section('resources', 'Resources', na);
  const rows = inputs.evidence.resources.map((r) => [
    code(r.logicalId),
    breakable(r.type),
    r.name === '' ? '<span class="note">named by CloudFormation</span>' : `${code(r.name)}${r.via ? ` <span class="note">(of ${code(r.via)})</span>` : ''}`,
  ]);
  return section('resources', 'Resources', `<p class="note">The tenant's dedicated stack; the full template is <code>stack/template.json</code>.</p>${table(['Logical id', 'Type', 'Name'], rows)}`);
}

/**
 * A policy condition as IAM reads it, one test a line: `dynamodb:LeadingKeys ForAllValues:StringLike
 * avalara#*, cetec#*` (the key, the operator, the values any of which may match).
 */
export function conditionText(condition: Record<string, Record<string, string | string[]>>): string {
  const lines = Object.entries(condition).flatMap(([operator, tests]) =>
    Object.entries(tests).map(([key, values]) => `<li>${code(key)} <span class="op">${breakable(operator)}</span> ${(Array.isArray(values) ? values : [values]).map((v) => code(v)).join(', ')}</li>`),
  );
  return `<ul class="plain">${lines.join('')}</ul>`;
}

function policy(inputs: ReportInputs): string {
  const na = notAvailable(inputs.sections, 'iam');
  if (na || !inputs.evidence.policy) return section('iam-policy', 'IAM policy', na ?? '');
  const rows = inputs.evidence.policy.Statement.map((s) => [code(s.Sid), e(s.Effect), list(s.Action), list(s.Resource), s.Condition ? conditionText(s.Condition) : '']);
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
  const what = inputs.kind
    ? `<p class="note" id="isolation-kind">${badge(KIND_LABELS[inputs.kind.kind], 'muted')} This matrix is ${e(inputs.kind.isolation)}. Stage ${e(proof.evaluatedWith.stage)}, region ${e(proof.evaluatedWith.region)}.</p>`
    : `<p class="note" id="isolation-kind">Method: ${e(proof.method)}. Stage ${e(proof.evaluatedWith.stage)}, region ${e(proof.evaluatedWith.region)}; the ARNs name account ${e(proof.evaluatedWith.account)}.</p>`;
  const note = `${what}<p class="note">The full matrix, with the number of requests checked per cell and any allowed request, is in <code>iam/isolation-proof.json</code>.</p>`;
  return section('isolation', 'Isolation matrix', verdict + incomplete + table(['Policy → resources of', 'Parameters', 'Secrets', 'Table', 'Logs', 'Extension resources', 'Stage key'], rows, { id: 'isolation-matrix', empty: 'There are no other tenants in this stage.' }) + note);
}

function secrets(inputs: ReportInputs): string {
  const s = inputs.sections.find((x) => x.id === 'secrets');
  const rows = inputs.evidence.secrets.map((x) => [
    code(x.key),
    code(x.reference),
    x.storage === 'stored' ? e(x.versions.length) : badge(x.storage, x.storage === 'missing' ? 'warn' : 'muted'),
    x.currentVersionId ? code(x.currentVersionId) : '',
    x.lastRotatedAt ? time(x.lastRotatedAt) : x.setAt ? `set ${time(x.setAt)}` : 'unknown',
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
          auth.keys.map((k) => [code(k.name), code(k.id), k.scopes.length ? list(k.scopes) : 'none', `${time(k.createdAt)} by ${breakable(k.createdBy)}`, k.lastUsedAt ? time(k.lastUsedAt) : 'never', k.expiresAt ? time(k.expiresAt) : 'never']),
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
      detail: `artifact ${/^[0-9a-f]{64}$/.test(d.artifact) ? digest(d.artifact) : code(d.artifact)}; extensions ${e(d.extensions.join(', ') || 'none')}${d.error ? `; error ${breakable(d.error)}` : ''}`,
    })),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return section('timeline', 'Deploy timeline', table(['When', 'What', 'By', 'Detail'], items.map((i) => [time(i.at), e(i.what), breakable(i.by), i.detail]), { empty: 'No deploys or status changes recorded.' }));
}

function extensions(inputs: ReportInputs): string {
  const na = notAvailable(inputs.sections, 'extensions');
  if (na) return section('extensions', 'Extensions', na);
  const rows = inputs.evidence.extensions.map((x) => [
    code(x.name),
    e(x.version ?? ''),
    x.status === 'ok' ? badge('ok', 'ok') : `${badge(x.status, 'bad')} ${breakable(x.problems.join('; '))}`,
    digest(x.codeSha256),
    e(x.routes.length),
    settingsText((inputs.evidence.settings?.[x.name] as Record<string, unknown> | undefined) ?? {}),
    x.permissions.map((p) => `${list(p.actions)} on ${list(p.resources)}`).join('<br>'),
  ]);
  return section('extensions', 'Extensions', table(['Name', 'Version', 'Status', 'Code SHA-256', 'Routes', 'Settings', 'Permissions'], rows, { empty: 'No extensions are enabled for this tenant.' }));
}

/** Named values (an event's arguments, an extension's settings) one a line: `name value`. */
function settingsText(values: Record<string, unknown>): string {
  const entries = Object.entries(values);
  if (entries.length === 0) return '';
  return `<ul class="plain">${entries.map(([name, value]) => `<li>${code(name)} ${value === null ? '<span class="note">none</span>' : code(value)}</li>`).join('')}</ul>`;
}

function eventRow(ev: AuditEvent): string[] {
  return [e(ev.seq), time(ev.time), breakable(ev.actor), code(ev.action), ev.outcome === 'success' ? badge('success', 'ok') : `${badge('failure', 'bad')} ${breakable(ev.error ?? '')}`, settingsText(ev.args ?? {}), digest(ev.hash.slice(0, 16))];
}

function events(inputs: ReportInputs): string {
  const s = inputs.events;
  const shown = s.recent.length;
  const counts = Object.entries(s.actions).sort(([a], [b]) => (a < b ? -1 : 1)).map(([action, n]) => [code(action), e(n)]);
  const head = `<p>${e(s.tenantEvents)} event(s) of this tenant${s.since ? ` since ${e(s.since)}` : ''}, from seq ${e(s.anchor.seq + 1)} to the log's head at seq ${e(s.head.seq)} (hash <code>${e(s.head.hash)}</code>). ${shown < s.tenantEvents ? `The newest ${e(shown)} are listed; all are in <code>audit/events.jsonl</code>.` : 'All are listed below and in <code>audit/events.jsonl</code>.'}</p>`;
  const chain = `<p class="note">Chain evidence (<code>audit/chain.jsonl</code>): the hash before the segment, the last hash of each of the ${e(s.gapRuns)} run(s) of other events between this tenant's, and the head. Each event's <code>prevHash</code> links to what precedes it and its <code>hash</code> is the SHA-256 of its canonical JSON.</p>`;
  return section('events', 'Audit events', head + chain + table(['Action', 'Count'], counts) + table(['Seq', 'Time', 'Actor', 'Action', 'Outcome', 'Arguments', 'Hash'], s.recent.map(eventRow), { id: 'events-table', empty: 'No audit events.' }));
}

/** One check a control mapping row rests on, decided from the evidence in the bundle. */
export interface ControlCheck {
  what: string;
  /** `verify`: decided by `sovereign audit verify`, not by anything the report can show. */
  outcome: 'passed' | 'failed' | 'not available' | 'verify';
  detail: string;
}

/** The checks of the control mapping, by name, from the evidence. Pure. */
export function controlChecks(inputs: ReportInputs): Record<'isolation' | 'extensions' | 'rotation' | 'chain' | 'stack' | 'deploys' | 'signature', ControlCheck> {
  const sectionOf = (id: string) => inputs.sections.find((s) => s.id === id);
  const unavailable = (id: string) => sectionOf(id)?.reason ?? 'the section is not in this bundle';
  const proof = inputs.evidence.isolation;
  const leaks = proof ? proof.matrix.cells.filter((c) => c.decision === 'ALLOWED').length : 0;
  const ownDenied = proof ? proof.matrix.ownDenied.filter((d) => d.tenant === proof.tenant).length : 0;
  const broken = inputs.evidence.extensions.filter((x) => x.status !== 'ok');
  const stale = inputs.evidence.secrets.filter((x) => x.stale);
  const unread = inputs.evidence.secrets.filter((x) => x.storage === 'unavailable');
  const deploys = inputs.evidence.tenant.deploys ?? [];
  const unrecorded = deploys.filter((d) => !d.at || !d.by || !d.artifact);
  return {
    isolation: proof
      ? {
          what: 'no cross-tenant access; the tenant reads its own resources',
          outcome: proof.ok ? 'passed' : 'failed',
          detail: proof.ok ? `${proof.matrix.checked} requests evaluated` : `${leaks} cross-tenant cell(s) allow access, ${ownDenied} own read(s) denied`,
        }
      : { what: 'no cross-tenant access; the tenant reads its own resources', outcome: 'not available', detail: unavailable('iam') },
    extensions:
      sectionOf('extensions')?.status === 'included'
        ? {
            what: 'every enabled extension loads and validates, with its code hash',
            outcome: broken.length === 0 ? 'passed' : 'failed',
            detail: broken.length === 0 ? `${inputs.evidence.extensions.length} extension(s)` : `${broken.map((x) => `${x.name} (${x.status})`).join(', ')}`,
          }
        : { what: 'every enabled extension loads and validates, with its code hash', outcome: 'not available', detail: unavailable('extensions') },
    rotation:
      stale.length > 0
        ? { what: `every secret rotated within ${ROTATION_DAYS} days`, outcome: 'failed', detail: stale.map((x) => `${x.key} is ${x.ageDays} days old`).join('; ') }
        : unread.length > 0
          ? { what: `every secret rotated within ${ROTATION_DAYS} days`, outcome: 'not available', detail: `the rotation of ${unread.length} secret(s) could not be read` }
          : { what: `every secret rotated within ${ROTATION_DAYS} days`, outcome: 'passed', detail: `${inputs.evidence.secrets.length} secret(s)` },
    chain: {
      what: "the tenant's events are hash-chained to the log's head, which a signed checkpoint covers",
      outcome: 'passed',
      detail: `${inputs.events.tenantEvents} event(s), seq ${inputs.events.anchor.seq + 1} to ${inputs.events.head.seq}; checked when the bundle was made, and again by sovereign audit verify`,
    },
    stack:
      sectionOf('stack')?.status === 'included'
        ? { what: "the tenant's stack template renders from its recorded state", outcome: 'passed', detail: `${inputs.evidence.resources.length} resources` }
        : { what: "the tenant's stack template renders from its recorded state", outcome: 'not available', detail: unavailable('stack') },
    deploys: {
      what: 'every deploy is recorded with its time, actor and artifact',
      outcome: unrecorded.length === 0 ? 'passed' : 'failed',
      detail: unrecorded.length === 0 ? `${deploys.length} deploy(s)` : `${unrecorded.length} of ${deploys.length} deploy(s) lack one`,
    },
    signature: { what: 'the manifest is signed (Ed25519) and lists the SHA-256 of every file', outcome: 'verify', detail: 'checked by sovereign audit verify with the signer pinned' },
  };
}

const OUTCOME_BADGES: Record<ControlCheck['outcome'], [string, 'ok' | 'bad' | 'warn' | 'muted']> = {
  passed: ['passed', 'ok'],
  failed: ['failed', 'bad'],
  'not available': ['not available', 'warn'],
  verify: ['audit verify', 'muted'],
};

function controls(inputs: ReportInputs): string {
  const checks = controlChecks(inputs);
  const present = new Set([...inputs.files.map((f) => f.path), 'manifest.json']);
  const extensionFiles = inputs.files.map((f) => f.path).filter((p) => p.startsWith('extensions/'));
  const rows: Array<{ control: string; objective: string; sections: Array<[string, string]>; files: string[]; checks: ControlCheck[] }> = [
    {
      control: 'SOC 2 CC6.1 — Logical access',
      objective: "Access to tenant data is restricted to the tenant's own runtime role, least privilege.",
      sections: [['iam-policy', 'IAM policy'], ['isolation', 'Isolation matrix'], ['secrets', 'Secrets'], ['auth', 'Route authentication and API keys']],
      files: ['iam/runtime-policy.json', 'iam/isolation-proof.json', 'secrets/references.json', 'auth.json'],
      checks: [checks.isolation, checks.extensions],
    },
    {
      control: 'SOC 2 CC7.2 — Monitoring',
      objective: 'Security-relevant activity is recorded in a tamper-evident log and reviewed.',
      sections: [['events', 'Audit events'], ['secrets', 'Secrets']],
      files: ['audit/events.jsonl', 'audit/chain.jsonl', 'audit/checkpoints.jsonl', 'secrets/references.json'],
      checks: [checks.chain, checks.rotation],
    },
    {
      control: 'SOC 2 CC8.1 — Change management',
      objective: "Changes to the tenant's infrastructure and code are authorised, recorded and traceable.",
      sections: [['timeline', 'Deploy timeline'], ['resources', 'Resources'], ['extensions', 'Extensions']],
      files: ['tenant/deploys.json', 'stack/template.json', ...extensionFiles],
      checks: [checks.deploys, checks.stack, checks.extensions],
    },
    {
      control: 'HIPAA §164.312(b) — Audit controls',
      objective: 'Mechanisms that record and examine activity in systems containing ePHI.',
      sections: [['events', 'Audit events'], ['contents', 'Bundle contents']],
      files: ['audit/events.jsonl', 'audit/chain.jsonl', 'audit/checkpoints.jsonl', 'manifest.json'],
      checks: [checks.chain, checks.signature],
    },
  ];
  const cells = rows.map((row) => {
    const failed = row.checks.filter((c) => c.outcome === 'failed').length;
    const missing = row.checks.filter((c) => c.outcome === 'not available').length + row.files.filter((f) => !present.has(f)).length;
    const verdict = failed > 0 ? badge(`${failed} check(s) failed`, 'bad') : missing > 0 ? badge('partly not available', 'warn') : badge('checks passed', 'ok');
    const evidence =
      `<ul class="plain">${row.sections.map(([id, title]) => `<li><a href="#${e(id)}">${e(title)}</a></li>`).join('')}</ul>` +
      `<ul class="plain">${row.files.map((f) => `<li>${code(f)}${present.has(f) ? '' : ` ${badge('not in bundle', 'warn')}`}</li>`).join('')}</ul>`;
    const list = `<ul class="plain">${row.checks.map((c) => `<li>${badge(...OUTCOME_BADGES[c.outcome])} ${e(c.what)} <span class="note">(${breakable(c.detail)})</span></li>`).join('')}</ul>`;
    return [e(row.control), e(row.objective), evidence, `${verdict}${list}`];
  });
  return section(
    'controls',
    'Control mapping',
    '<p class="note">Each control with the sections and files of this bundle that evidence it, and the checks decided from that evidence when the bundle was made.</p>' +
      table(['Control', 'Objective', 'Evidence in this bundle', 'Checks'], cells, { id: 'controls-table' }),
  );
}

function contents(inputs: ReportInputs): string {
  const sectionRows = inputs.sections.map((s) => [e(s.title), s.status === 'included' ? badge('included', 'ok') : badge('not available', 'warn'), e(s.reason ?? ''), s.files.map((f) => code(f)).join('<br>')]);
  const fileRows = inputs.files.map((f) => [code(f.path), e(f.size), digest(f.sha256)]);
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
