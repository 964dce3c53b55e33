/**
 * The isolation proof of an audit bundle: the tenant's rendered runtime policy evaluated offline
 * against every other tenant's parameters, secrets, table and logs (expected: denied), and against
 * its own (expected: allowed, which shows the evaluation is not vacuous).
 *
 * The evaluator covers what the rendered policies use: Allow statements, `Action` and `Resource`
 * lists with `*` and `?` wildcards (actions case-insensitive). A statement with a `Condition`
 * cannot be decided without a request context, so it is counted as allowing: a conditional grant
 * on another tenant's resource fails the proof instead of passing it silently.
 */
import { parseReference } from '../runtime/secrets/reference.js';
import { defaultSecretScope, partitionOf, renderTenantPolicy, type PolicyDocument, type PolicyExtension, type TenantSecretScope } from '../templates/policy.js';
import { tenantLogGroupName, tenantTableName } from '../templates/names.js';

export type Decision = 'allow' | 'deny';

/** Matches IAM's `*` (any run) and `?` (one character) wildcards. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const v = ignoreCase ? value.toLowerCase() : value;
  let pi = 0;
  let vi = 0;
  let star = -1;
  let mark = 0;
  while (vi < v.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === v[vi])) {
      pi += 1;
      vi += 1;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi;
      mark = vi;
      pi += 1;
    } else if (star >= 0) {
      pi = star + 1;
      mark += 1;
      vi = mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi += 1;
  return pi === p.length;
}

export interface Evaluation {
  decision: Decision;
  /** Sids of the statements that allow it. */
  matchedBy: string[];
  conditional: boolean;
}

/** Evaluates one request against an identity policy (implicit deny unless an Allow matches). */
export function evaluatePolicy(policy: PolicyDocument, action: string, resource: string): Evaluation {
  const matchedBy: string[] = [];
  let conditional = false;
  for (const statement of policy.Statement) {
    if (statement.Effect !== 'Allow') continue;
    const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
    const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    if (!actions.some((a) => wildcardMatch(a, action, true))) continue;
    if (!resources.some((r) => wildcardMatch(r, resource))) continue;
    matchedBy.push(statement.Sid);
    if (statement.Condition && Object.keys(statement.Condition).length > 0) conditional = true;
  }
  return { decision: matchedBy.length > 0 ? 'allow' : 'deny', matchedBy, conditional };
}

export type ResourceKind = 'parameters' | 'secrets' | 'table' | 'logs';
export const RESOURCE_KINDS: ResourceKind[] = ['parameters', 'secrets', 'table', 'logs'];

export interface Probe {
  kind: ResourceKind;
  action: string;
  resource: string;
}

export interface MatrixCell {
  /** Whose resources. */
  target: string;
  kind: ResourceKind;
  expected: Decision;
  /** `deny` only when every probe is denied; `allow` when any is allowed. */
  decision: Decision;
  ok: boolean;
  probes: Array<Probe & Evaluation>;
}

export interface IsolationProof {
  tenant: string;
  stage: string;
  method: string;
  evaluatedWith: { account: string; region: string; partition: string };
  otherTenants: string[];
  cells: MatrixCell[];
  ok: boolean;
  /** Cells that did not come out as expected. */
  failures: number;
}

export interface IsolationTenant {
  id: string;
  /** Secret references of the tenant (`<extension>.<key>` → reference), probed by name. */
  references: string[];
}

export interface IsolationInputs {
  tenant: string;
  stage: string;
  extensions: PolicyExtension[];
  others: IsolationTenant[];
  /** The tenant's own references, probed as allowed. */
  ownReferences: string[];
  scope?: (tenant: string) => TenantSecretScope;
  account?: string;
  region?: string;
}

function referenceProbe(reference: string, arn: string, region: string, account: string): Probe | undefined {
  const parsed = parseReference(reference);
  if (!parsed.ok) return undefined;
  const r = parsed.reference;
  if (r.service === 'ssm') return { kind: 'parameters', action: 'ssm:GetParameter', resource: `${arn}:ssm:${region}:${account}:parameter/${r.name.replace(/^\//, '')}` };
  return { kind: 'secrets', action: 'secretsmanager:GetSecretValue', resource: `${arn}:secretsmanager:${region}:${account}:secret:${r.name}-Ab12Cd` };
}

/** The requests that reach another tenant's (or the own) parameters, secrets, table and logs. */
export function probesFor(stage: string, target: string, references: string[], env: { arn: string; region: string; account: string }): Probe[] {
  const { arn, region, account } = env;
  const table = `${arn}:dynamodb:${region}:${account}:table/${tenantTableName(stage, target)}`;
  const logGroup = `${arn}:logs:${region}:${account}:log-group:${tenantLogGroupName(stage, target)}`;
  const probes: Probe[] = [
    { kind: 'parameters', action: 'ssm:GetParameter', resource: `${arn}:ssm:${region}:${account}:parameter/${stage}/tenants/${target}/probe` },
    { kind: 'parameters', action: 'ssm:GetParametersByPath', resource: `${arn}:ssm:${region}:${account}:parameter/${stage}/tenants/${target}` },
    { kind: 'secrets', action: 'secretsmanager:GetSecretValue', resource: `${arn}:secretsmanager:${region}:${account}:secret:${stage}/tenants/${target}/probe-Ab12Cd` },
    { kind: 'table', action: 'dynamodb:GetItem', resource: table },
    { kind: 'table', action: 'dynamodb:PutItem', resource: table },
    { kind: 'table', action: 'dynamodb:Query', resource: `${table}/index/gsi1` },
    { kind: 'table', action: 'dynamodb:Scan', resource: table },
    { kind: 'logs', action: 'logs:PutLogEvents', resource: `${logGroup}:log-stream:probe` },
    { kind: 'logs', action: 'logs:FilterLogEvents', resource: `${logGroup}:*` },
  ];
  for (const reference of references) {
    const probe = referenceProbe(reference, arn, region, account);
    if (probe) probes.push(probe);
  }
  return probes;
}

/** For the own tenant, only requests the runtime is meant to make. */
function ownProbes(stage: string, tenant: string, references: string[], env: { arn: string; region: string; account: string }): Probe[] {
  const granted = new Set(['ssm:GetParameter', 'secretsmanager:GetSecretValue', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'logs:PutLogEvents']);
  return probesFor(stage, tenant, references, env).filter((p) => granted.has(p.action));
}

/** Builds the allow/deny matrix; pure. */
export function buildIsolationProof(inputs: IsolationInputs): IsolationProof {
  const account = inputs.account ?? '123456789012';
  const region = inputs.region ?? 'us-east-1';
  const partition = partitionOf(region);
  const env = { arn: `arn:${partition}`, region, account };
  const scope = inputs.scope?.(inputs.tenant) ?? defaultSecretScope(inputs.stage, inputs.tenant);
  const policy = renderTenantPolicy({ tenant: inputs.tenant, stage: inputs.stage, extensions: inputs.extensions, scope, account, region });
  const cells: MatrixCell[] = [];
  const addCells = (target: string, expected: Decision, probes: Probe[]) => {
    for (const kind of RESOURCE_KINDS) {
      const evaluated = probes.filter((p) => p.kind === kind).map((p) => ({ ...p, ...evaluatePolicy(policy, p.action, p.resource) }));
      if (evaluated.length === 0) continue;
      const decision: Decision = expected === 'deny'
        ? (evaluated.some((p) => p.decision === 'allow') ? 'allow' : 'deny')
        : (evaluated.every((p) => p.decision === 'allow' && !p.conditional) ? 'allow' : 'deny');
      cells.push({ target, kind, expected, decision, ok: decision === expected, probes: evaluated });
    }
  };
  addCells(inputs.tenant, 'allow', ownProbes(inputs.stage, inputs.tenant, inputs.ownReferences, env));
  const others = [...inputs.others].sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const other of others) addCells(other.id, 'deny', probesFor(inputs.stage, other.id, other.references, env));
  const failures = cells.filter((c) => !c.ok).length;
  return {
    tenant: inputs.tenant,
    stage: inputs.stage,
    method: 'offline evaluation of the rendered runtime policy (Allow statements; action and resource wildcards; conditional grants count as allowing)',
    evaluatedWith: { account, region, partition },
    otherTenants: others.map((o) => o.id),
    cells,
    ok: failures === 0,
    failures,
  };
}
