/**
 * A small offline evaluator of identity policies, enough to prove tenant isolation without AWS:
 * Allow and Deny statements, Action/NotAction with wildcards, Resource/NotResource as ARN globs,
 * and the string, Bool and Null condition operators (with ForAnyValue/ForAllValues and IfExists).
 * An operator it does not know counts as satisfied, so an unknown condition can only make it
 * report more access, never less: safe for an isolation proof.
 */

export type Decision = 'allowed' | 'explicitDeny' | 'implicitDeny';

export interface EvaluableStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny' | string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

export interface EvaluablePolicy {
  Statement: EvaluableStatement | EvaluableStatement[];
}

export type RequestContext = Record<string, string | string[]>;

const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

function globToRegExp(pattern: string, flags: string): RegExp {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, flags);
}

const cache = new Map<string, RegExp>();
function globMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const key = `${ignoreCase ? 'i' : 's'}:${pattern}`;
  let re = cache.get(key);
  if (!re) {
    re = globToRegExp(pattern, ignoreCase ? 'i' : '');
    cache.set(key, re);
  }
  return re.test(value);
}

/** IAM action match: case-insensitive, `*` and `?` wildcards. */
export function actionMatches(pattern: string, action: string): boolean {
  return globMatch(pattern, action, true);
}

/** IAM resource match: case-sensitive ARN glob; `*` crosses `/` and `:`. */
export function resourceMatches(pattern: string, resource: string): boolean {
  return globMatch(pattern, resource, false);
}

function conditionHolds(operator: string, key: string, expected: string[], context: RequestContext): boolean {
  let op = operator;
  let quantifier: 'any' | 'all' | undefined;
  if (op.startsWith('ForAnyValue:')) [quantifier, op] = ['any', op.slice('ForAnyValue:'.length)];
  else if (op.startsWith('ForAllValues:')) [quantifier, op] = ['all', op.slice('ForAllValues:'.length)];
  const ifExists = op.endsWith('IfExists');
  if (ifExists) op = op.slice(0, -'IfExists'.length);
  const present = Object.keys(context).find((k) => k.toLowerCase() === key.toLowerCase());
  const values = present === undefined ? undefined : list(context[present]);
  if (op === 'Null') return (values === undefined) === (expected[0] === 'true');
  if (values === undefined) {
    if (ifExists) return true;
    if (quantifier === 'all') return true;
    return /Not/.test(op) && quantifier === undefined ? true : false;
  }
  const one = (value: string): boolean | undefined => {
    switch (op) {
      case 'StringEquals':
        return expected.includes(value);
      case 'StringNotEquals':
        return !expected.includes(value);
      case 'StringEqualsIgnoreCase':
        return expected.some((e) => e.toLowerCase() === value.toLowerCase());
      case 'StringNotEqualsIgnoreCase':
        return !expected.some((e) => e.toLowerCase() === value.toLowerCase());
      case 'StringLike':
      case 'ArnLike':
      case 'ArnEquals':
        return expected.some((e) => globMatch(e, value, false));
      case 'StringNotLike':
      case 'ArnNotLike':
      case 'ArnNotEquals':
        return !expected.some((e) => globMatch(e, value, false));
      case 'Bool':
        return expected.some((e) => e.toLowerCase() === value.toLowerCase());
      default:
        return undefined;
    }
  };
  const results = values.map(one);
  if (results.some((r) => r === undefined)) return true; // unknown operator: assume it may match
  if (quantifier === 'all') return results.every(Boolean);
  return results.some(Boolean);
}

function statementApplies(statement: EvaluableStatement, action: string, resource: string, context: RequestContext): boolean {
  const actionOk =
    statement.Action !== undefined
      ? list(statement.Action).some((p) => actionMatches(p, action))
      : statement.NotAction !== undefined
        ? !list(statement.NotAction).some((p) => actionMatches(p, action))
        : false;
  if (!actionOk) return false;
  const resourceOk =
    statement.Resource !== undefined
      ? list(statement.Resource).some((p) => resourceMatches(p, resource))
      : statement.NotResource !== undefined
        ? !list(statement.NotResource).some((p) => resourceMatches(p, resource))
        : false;
  if (!resourceOk) return false;
  for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
    for (const [key, value] of Object.entries(entries)) {
      if (!conditionHolds(operator, key, list(value as string | string[]).map(String), context)) return false;
    }
  }
  return true;
}

/** Evaluates one request against identity policies: explicit deny wins, then any allow. */
export function evaluatePolicies(policies: EvaluablePolicy[], action: string, resource: string, context: RequestContext = {}): Decision {
  let allowed = false;
  for (const policy of policies) {
    for (const statement of list(policy.Statement)) {
      if (!statementApplies(statement, action, resource, context)) continue;
      if (statement.Effect === 'Deny') return 'explicitDeny';
      if (statement.Effect === 'Allow') allowed = true;
    }
  }
  return allowed ? 'allowed' : 'implicitDeny';
}
