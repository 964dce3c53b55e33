/**
 * What a DynamoDB request asks IAM for: each action on each resource, with the condition keys
 * IAM would give the policy (`dynamodb:LeadingKeys` from the request's partition keys,
 * `dynamodb:Attributes`, `dynamodb:Select`, `dynamodb:ReturnValues`), and the tables it touches.
 * Pure: the data plane evaluates these against the tenant's rendered policy.
 *
 * Multi-item operations are checked item by item as IAM does: BatchGetItem and BatchWriteItem
 * once per table with every key of that table, TransactWriteItems as PutItem / UpdateItem /
 * DeleteItem / ConditionCheckItem on each item's table, TransactGetItems as GetItem.
 */
import type { RequestContext } from '../../../isolation/policy-eval.js';

export interface AccessCheck {
  action: string;
  resource: string;
  context: RequestContext;
}

export interface RequestAccess {
  checks: AccessCheck[];
  /** Every table the request names, in order, without repeats. */
  tables: string[];
}

export interface ArnParts {
  partition: string;
  region: string;
  account: string;
}

type Json = Record<string, unknown>;
type AttributeValue = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const objects = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isObject) : []);

/** The string IAM compares for an attribute value (`S`, `N` or `B`). */
function scalar(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  for (const type of ['S', 'N', 'B']) if (typeof value[type] === 'string') return value[type] as string;
  return undefined;
}

/** `#name` through ExpressionAttributeNames. */
function attributeName(token: string, names: unknown): string {
  if (!token.startsWith('#')) return token;
  const resolved = isObject(names) ? names[token] : undefined;
  return typeof resolved === 'string' ? resolved : token;
}

/** The top-level attribute names of a projection expression (`a, #b.c, d[0]` → a, b, d). */
function projectionNames(expression: unknown, names: unknown): string[] {
  if (typeof expression !== 'string') return [];
  return expression
    .split(',')
    .map((part) => part.trim().split(/[.[]/, 1)[0]!.trim())
    .filter((part) => part !== '')
    .map((part) => attributeName(part, names));
}

/** The partition key value a Query names: `pk = :v` in KeyConditionExpression, or legacy KeyConditions. */
function queryPartitionKey(body: Json, hashKey: string): string | undefined {
  const expression = body.KeyConditionExpression;
  if (typeof expression === 'string') {
    const values = isObject(body.ExpressionAttributeValues) ? body.ExpressionAttributeValues : {};
    const pattern = /(#?[A-Za-z0-9_]+|:[A-Za-z0-9_]+)\s*=\s*(#?[A-Za-z0-9_]+|:[A-Za-z0-9_]+)/g;
    for (const match of expression.matchAll(pattern)) {
      const [left, right] = [match[1]!, match[2]!];
      const [name, value] = left.startsWith(':') ? [right, left] : [left, right];
      if (value.startsWith(':') && attributeName(name, body.ExpressionAttributeNames) === hashKey) return scalar(values[value]);
    }
    return undefined;
  }
  const legacy = isObject(body.KeyConditions) ? body.KeyConditions[hashKey] : undefined;
  return isObject(legacy) && Array.isArray(legacy.AttributeValueList) ? scalar(legacy.AttributeValueList[0]) : undefined;
}

function leadingKeys(keys: AttributeValue[], hashKey: string | undefined): string[] | undefined {
  if (hashKey === undefined) return undefined;
  const values = keys.map((key) => scalar(key[hashKey]));
  return values.some((v) => v === undefined) || values.length === 0 ? undefined : [...new Set(values as string[])];
}

function withKeys(context: RequestContext, keys: string[] | undefined): RequestContext {
  return keys === undefined ? context : { ...context, 'dynamodb:LeadingKeys': keys };
}

/** Optional request parameters IAM exposes as condition keys. */
function requestKeys(body: Json, attributes: string[]): RequestContext {
  const context: RequestContext = {};
  if (typeof body.Select === 'string') context['dynamodb:Select'] = body.Select;
  if (typeof body.ReturnValues === 'string') context['dynamodb:ReturnValues'] = body.ReturnValues;
  if (typeof body.ReturnConsumedCapacity === 'string') context['dynamodb:ReturnConsumedCapacity'] = body.ReturnConsumedCapacity;
  if (attributes.length > 0) context['dynamodb:Attributes'] = [...new Set(attributes)];
  return context;
}

const PARTIQL_VERBS: Record<string, string> = { SELECT: 'PartiQLSelect', INSERT: 'PartiQLInsert', UPDATE: 'PartiQLUpdate', DELETE: 'PartiQLDelete' };

/**
 * The checks of one request. `hashKeyOf` names the partition key attribute of a table it knows
 * (a table it does not know gives no `dynamodb:LeadingKeys`, so a policy that requires them denies).
 */
export function requestAccess(operation: string, body: Json, arn: ArnParts, hashKeyOf: (table: string) => string | undefined): RequestAccess {
  const tableArn = (table: string) => `arn:${arn.partition}:dynamodb:${arn.region}:${arn.account}:table/${table}`;
  const checks: AccessCheck[] = [];
  const tables: string[] = [];
  const touch = (table: string) => {
    if (!tables.includes(table)) tables.push(table);
  };
  const check = (action: string, table: string, context: RequestContext, index?: unknown) => {
    touch(table);
    checks.push({ action: `dynamodb:${action}`, resource: typeof index === 'string' ? `${tableArn(table)}/index/${index}` : tableArn(table), context });
  };
  const itemKeys = (item: Json): string[] => Object.keys(item);
  switch (operation) {
    case 'GetItem':
    case 'DeleteItem':
    case 'UpdateItem':
    case 'PutItem': {
      const table = String(body.TableName ?? '');
      const key = isObject(operation === 'PutItem' ? body.Item : body.Key) ? ((operation === 'PutItem' ? body.Item : body.Key) as Json) : {};
      const attributes = operation === 'PutItem' ? itemKeys(key) : [...(Array.isArray(body.AttributesToGet) ? body.AttributesToGet.map(String) : []), ...projectionNames(body.ProjectionExpression, body.ExpressionAttributeNames)];
      check(operation, table, withKeys(requestKeys(body, attributes), leadingKeys([key], hashKeyOf(table))));
      break;
    }
    case 'Query':
    case 'Scan': {
      const table = String(body.TableName ?? '');
      const hashKey = hashKeyOf(table);
      const partition = operation === 'Query' && hashKey !== undefined && body.IndexName === undefined ? queryPartitionKey(body, hashKey) : undefined;
      const attributes = [...(Array.isArray(body.AttributesToGet) ? body.AttributesToGet.map(String) : []), ...projectionNames(body.ProjectionExpression, body.ExpressionAttributeNames)];
      check(operation, table, withKeys(requestKeys(body, attributes), partition === undefined ? undefined : [partition]), body.IndexName);
      break;
    }
    case 'BatchGetItem':
    case 'BatchWriteItem': {
      const requests = isObject(body.RequestItems) ? body.RequestItems : {};
      for (const [table, entry] of Object.entries(requests)) {
        const keys =
          operation === 'BatchGetItem'
            ? objects(isObject(entry) ? entry.Keys : undefined)
            : objects(entry).map((request) => (isObject(request.PutRequest) ? request.PutRequest.Item : isObject(request.DeleteRequest) ? request.DeleteRequest.Key : undefined)).filter(isObject);
        check(operation, table, withKeys(requestKeys(body, []), leadingKeys(keys, hashKeyOf(table))));
      }
      break;
    }
    case 'TransactWriteItems':
    case 'TransactGetItems': {
      const kinds: Record<string, [string, string]> = { Put: ['PutItem', 'Item'], Update: ['UpdateItem', 'Key'], Delete: ['DeleteItem', 'Key'], ConditionCheck: ['ConditionCheckItem', 'Key'], Get: ['GetItem', 'Key'] };
      for (const item of objects(body.TransactItems)) {
        for (const [kind, [action, keyField]] of Object.entries(kinds)) {
          const part = item[kind];
          if (!isObject(part)) continue;
          const table = String(part.TableName ?? '');
          check(action, table, withKeys({}, leadingKeys([isObject(part[keyField]) ? (part[keyField] as Json) : {}], hashKeyOf(table))));
        }
      }
      break;
    }
    case 'ExecuteStatement':
    case 'BatchExecuteStatement':
    case 'ExecuteTransaction': {
      const statements = operation === 'ExecuteStatement' ? [body] : objects(operation === 'ExecuteTransaction' ? body.TransactStatements : body.Statements);
      for (const statement of statements) {
        const text = String(statement.Statement ?? '');
        const verb = PARTIQL_VERBS[text.trim().split(/\s/, 1)[0]!.toUpperCase()] ?? 'PartiQLSelect';
        const table = /\b(?:FROM|INTO|UPDATE)\s+"?([A-Za-z0-9_.-]+)"?/i.exec(text)?.[1] ?? '*';
        check(verb, table, {});
      }
      break;
    }
    default: {
      if (typeof body.TableName === 'string') check(operation, body.TableName, requestKeys(body, []));
      else if (typeof body.ResourceArn === 'string') {
        const table = /:table\/([^/]+)/.exec(body.ResourceArn)?.[1];
        if (table !== undefined) touch(table);
        checks.push({ action: `dynamodb:${operation}`, resource: body.ResourceArn, context: {} });
      } else checks.push({ action: `dynamodb:${operation}`, resource: tableArn('*'), context: {} });
    }
  }
  // A request that names nothing is still asked about (and denied by) the policy.
  if (checks.length === 0) checks.push({ action: `dynamodb:${operation}`, resource: tableArn('*'), context: {} });
  return { checks, tables };
}
