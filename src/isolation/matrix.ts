/**
 * The isolation proof: every action a tenant's runtime could attempt, on every other tenant's
 * parameters, secrets, table, log group and extension resources, must be denied by its rendered
 * policy. The matrix is built by a pure core around an evaluator: the offline one of
 * `policy-eval.ts` (local target, audit bundles, tests) or IAM's SimulateCustomPolicy
 * (`targets/aws/isolation.ts`).
 */
import type { PolicyDocument, PolicyExtension, TenantSecretScope } from '../templates/policy.js';
import { defaultSecretScope, renderTenantPolicy, partitionOf, RUNTIME_TABLE_ACTIONS } from '../templates/policy.js';
import { secretsKeyAlias, tenantFunctionName, tenantLogGroupName, tenantTableName } from '../templates/names.js';
import { parseReference } from '../contract/reference.js';
import { evaluatePolicies, type Decision, type RequestContext } from './policy-eval.js';

export type ResourceKind = 'parameters' | 'secrets' | 'table' | 'logs' | 'function' | 'extension' | 'stage-key';

/** What a runtime could attempt on each kind of resource. */
export const RUNTIME_ACTIONS: Record<Exclude<ResourceKind, 'extension'>, string[]> = {
  parameters: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:GetParameterHistory', 'ssm:PutParameter', 'ssm:DeleteParameter'],
  secrets: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
  table: [...new Set([...RUNTIME_TABLE_ACTIONS, 'dynamodb:Scan', 'dynamodb:PartiQLSelect', 'dynamodb:DeleteTable'])].sort(),
  logs: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  // What runs a tenant's handlers (a route's or a schedule's) as that tenant.
  function: ['lambda:InvokeFunction'],
  'stage-key': ['kms:Decrypt'],
};

/** One request to evaluate: an action on a resource that belongs to `owner`. */
export interface Probe {
  owner: string;
  kind: ResourceKind;
  action: string;
  resource: string;
  context?: RequestContext;
}

/** A tenant as the isolation check sees it: its policy and the resources it owns. */
export interface IsolationSubject {
  tenant: string;
  policy: PolicyDocument;
  probes: Probe[];
}

export interface IsolationTenantInput {
  id: string;
  extensions: PolicyExtension[];
  scope?: TenantSecretScope;
  /** Secret references the tenant uses (`ssm:…`, `secretsmanager:…`): probed as its resources too. */
  references?: string[];
  /** Test hook: a policy to check instead of the rendered one (an over-broad fixture). */
  policyOverride?: PolicyDocument;
}

export interface IsolationInputs {
  stage: string;
  account: string;
  region: string;
  tenants: IsolationTenantInput[];
}

const SECRET_SUFFIX = '-AbC123';

function concrete(pattern: string, filler: string): string {
  return pattern.replace(/\*/g, filler).replace(/\?/g, 'x');
}

/** The resources a tenant owns, with the actions to try on each. */
export function tenantProbes(inputs: Omit<IsolationInputs, 'tenants'>, tenant: IsolationTenantInput, policy: PolicyDocument): Probe[] {
  const { stage, account, region } = inputs;
  const arn = `arn:${partitionOf(region)}`;
  const scope = tenant.scope ?? defaultSecretScope(stage, tenant.id);
  const probes: Probe[] = [];
  const add = (kind: ResourceKind, resource: string, actions: string[], context?: RequestContext) => {
    for (const action of actions) probes.push({ owner: tenant.id, kind, action, resource, ...(context ? { context } : {}) });
  };
  const parameterNames = new Set(scope.ssmParameters.map((p) => concrete(p, 'probe')));
  const secretNames = new Set(scope.secrets.map((p) => (p.endsWith('*') ? concrete(p, `probe${SECRET_SUFFIX}`) : `${concrete(p, 'probe')}${SECRET_SUFFIX}`)));
  for (const reference of tenant.references ?? []) {
    const parsed = parseReference(reference);
    if (!parsed.ok) continue;
    if (parsed.reference.service === 'ssm') parameterNames.add(parsed.reference.name);
    else secretNames.add(`${parsed.reference.name}${SECRET_SUFFIX}`);
  }
  for (const name of [...parameterNames].sort()) add('parameters', `${arn}:ssm:${region}:${account}:parameter/${name.replace(/^\//, '')}`, RUNTIME_ACTIONS.parameters);
  for (const name of [...secretNames].sort()) add('secrets', `${arn}:secretsmanager:${region}:${account}:secret:${name}`, RUNTIME_ACTIONS.secrets);
  const table = `${arn}:dynamodb:${region}:${account}:table/${tenantTableName(stage, tenant.id)}`;
  add('table', table, RUNTIME_ACTIONS.table);
  add('table', `${table}/index/probe`, ['dynamodb:Query', 'dynamodb:Scan']);
  add('logs', `${arn}:logs:${region}:${account}:log-group:${tenantLogGroupName(stage, tenant.id)}:log-stream:probe`, RUNTIME_ACTIONS.logs);
  add('function', `${arn}:lambda:${region}:${account}:function:${tenantFunctionName(stage, tenant.id)}`, RUNTIME_ACTIONS.function);
  // Extension resources: what the tenant's own extension statements grant it.
  for (const statement of policy.Statement) {
    if (!statement.Sid.startsWith('Ext')) continue;
    const actions = statement.Action.filter((a) => !/[*?]/.test(a));
    for (const resource of statement.Resource) add('extension', concrete(resource, 'probe'), actions);
  }
  return probes;
}

/** The stage key used directly (not through SSM or Secrets Manager): no tenant may do that. */
export function stageKeyProbe(inputs: Omit<IsolationInputs, 'tenants'>): Probe {
  return {
    owner: '*',
    kind: 'stage-key',
    action: 'kms:Decrypt',
    resource: `arn:${partitionOf(inputs.region)}:kms:${inputs.region}:${inputs.account}:key/00000000-0000-4000-8000-000000000000`,
    context: { 'kms:ResourceAliases': [secretsKeyAlias(inputs.stage)] },
  };
}

/** Renders each tenant's policy (concrete account and region) and lists the resources it owns. */
export function isolationSubjects(inputs: IsolationInputs): IsolationSubject[] {
  return inputs.tenants.map((tenant) => {
    const rendered = renderTenantPolicy({
      tenant: tenant.id,
      stage: inputs.stage,
      extensions: tenant.extensions,
      ...(tenant.scope ? { scope: tenant.scope } : {}),
      account: inputs.account,
      region: inputs.region,
    });
    const policy = tenant.policyOverride ?? rendered;
    return { tenant: tenant.id, policy, probes: tenantProbes(inputs, tenant, rendered) };
  });
}

export interface IsolationCell {
  /** Whose policy. */
  subject: string;
  /** Whose resources (`*` for the shared stage key). */
  target: string;
  kind: ResourceKind;
  decision: 'denied' | 'ALLOWED';
  /** The requests that were allowed. */
  allowed: Array<{ action: string; resource: string }>;
  checked: number;
}

export interface IsolationMatrix {
  evaluator: 'offline' | 'iam:SimulateCustomPolicy';
  tenants: string[];
  cells: IsolationCell[];
  /** Cross-tenant requests that were allowed; the proof holds when this is 0. */
  crossTenantAllows: number;
  /** A tenant's own runtime actions that its policy denies (a broken policy, not a leak). */
  ownDenied: Array<{ tenant: string; action: string; resource: string }>;
  checked: number;
}

/** The requests to evaluate for each subject: everything of every other tenant, its own base resources. */
export function isolationRequests(subjects: IsolationSubject[], options: { only?: string; stageKey?: Probe } = {}): Map<string, Probe[]> {
  const requests = new Map<string, Probe[]>();
  for (const subject of subjects) {
    const list: Probe[] = [];
    for (const other of subjects) {
      if (options.only !== undefined && subject.tenant !== options.only && other.tenant !== options.only) continue;
      if (other.tenant === subject.tenant) {
        // own resources: the base runtime reads, as a control that the policy is not deny-everything
        list.push(...other.probes.filter((p) => (p.kind === 'table' && p.action === 'dynamodb:GetItem') || (p.kind === 'logs' && p.action === 'logs:PutLogEvents') || (p.kind === 'parameters' && p.action === 'ssm:GetParameter') || (p.kind === 'secrets' && p.action === 'secretsmanager:GetSecretValue')));
      } else {
        list.push(...other.probes);
      }
    }
    if (options.stageKey && (options.only === undefined || options.only === subject.tenant)) list.push(options.stageKey);
    if (list.length > 0) requests.set(subject.tenant, list);
  }
  return requests;
}

/** Pure: folds decisions into the matrix. `decisions` is parallel to each subject's requests. */
export function foldMatrix(evaluator: IsolationMatrix['evaluator'], subjects: IsolationSubject[], requests: Map<string, Probe[]>, decisions: Map<string, Decision[]>): IsolationMatrix {
  const cells = new Map<string, IsolationCell>();
  const ownDenied: IsolationMatrix['ownDenied'] = [];
  let crossTenantAllows = 0;
  let checked = 0;
  for (const [subject, probes] of requests) {
    const answers = decisions.get(subject) ?? [];
    probes.forEach((probe, i) => {
      const decision = answers[i];
      if (decision === undefined) throw new Error(`no decision for ${subject} ${probe.action} ${probe.resource}`);
      checked += 1;
      if (probe.owner === subject) {
        if (decision !== 'allowed') ownDenied.push({ tenant: subject, action: probe.action, resource: probe.resource });
        return;
      }
      const key = `${subject}\u0000${probe.owner}\u0000${probe.kind}`;
      let cell = cells.get(key);
      if (!cell) {
        cell = { subject, target: probe.owner, kind: probe.kind, decision: 'denied', allowed: [], checked: 0 };
        cells.set(key, cell);
      }
      cell.checked += 1;
      if (decision === 'allowed') {
        cell.decision = 'ALLOWED';
        cell.allowed.push({ action: probe.action, resource: probe.resource });
        crossTenantAllows += 1;
      }
    });
  }
  const order = subjects.map((s) => s.tenant);
  const rank = (t: string) => (t === '*' ? order.length : order.indexOf(t));
  return {
    evaluator,
    tenants: order,
    cells: [...cells.values()].sort((a, b) => rank(a.subject) - rank(b.subject) || rank(a.target) - rank(b.target) || a.kind.localeCompare(b.kind)),
    crossTenantAllows,
    ownDenied,
    checked,
  };
}

/** Pure: the isolation matrix with the offline evaluator. */
export function isolationMatrix(inputs: IsolationInputs, options: { only?: string } = {}): IsolationMatrix {
  const subjects = isolationSubjects(inputs);
  const requests = isolationRequests(subjects, { ...options, stageKey: stageKeyProbe(inputs) });
  const decisions = new Map<string, Decision[]>();
  for (const subject of subjects) {
    const probes = requests.get(subject.tenant);
    if (probes) decisions.set(subject.tenant, probes.map((p) => evaluatePolicies([subject.policy], p.action, p.resource, p.context ?? {})));
  }
  return foldMatrix('offline', subjects, requests, decisions);
}

/** Human text: one row per tenant (whose policy), one column per other tenant (whose resources). */
export function formatIsolationMatrix(matrix: IsolationMatrix): string {
  const targets = [...matrix.tenants, ...(matrix.cells.some((c) => c.target === '*') ? ['*'] : [])];
  const header = ['policy \\ resources of', ...targets.map((t) => (t === '*' ? 'stage key' : t))];
  const rows: string[][] = [header];
  for (const subject of matrix.tenants) {
    const row = [subject];
    let any = false;
    for (const target of targets) {
      if (target === subject) {
        row.push('(own)');
        continue;
      }
      const cells = matrix.cells.filter((c) => c.subject === subject && c.target === target);
      if (cells.length === 0) {
        row.push('-');
        continue;
      }
      any = true;
      const leaks = cells.filter((c) => c.decision === 'ALLOWED');
      row.push(leaks.length === 0 ? 'denied' : `ALLOWED (${leaks.map((c) => c.kind).join(',')})`);
    }
    if (any) rows.push(row);
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
  const leaks = matrix.cells.filter((c) => c.decision === 'ALLOWED');
  if (leaks.length > 0) {
    lines.push('', 'cross-tenant access allowed:');
    for (const cell of leaks) {
      for (const request of cell.allowed.slice(0, 5)) lines.push(`  ${cell.subject} → ${cell.target === '*' ? 'stage key' : cell.target} ${cell.kind}: ${request.action} on ${request.resource}`);
      if (cell.allowed.length > 5) lines.push(`  … and ${cell.allowed.length - 5} more for ${cell.subject} → ${cell.target} ${cell.kind}`);
    }
  }
  return lines.join('\n');
}
