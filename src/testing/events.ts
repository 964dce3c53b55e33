/** Builders for the event shapes the runtime serves: API Gateway HTTP API v2 and Function URLs. */
import { randomUUID } from 'node:crypto';
import type { HttpEventV2 } from '../runtime/http.js';
import { claimText, tokenScopes, type JwtAuthorizerContext } from '../contract/auth.js';

export interface TestEventOptions {
  /** JSON-serialised unless a string. */
  body?: unknown;
  /** Appended as the raw query string. */
  query?: Record<string, string> | string;
  headers?: Record<string, string>;
  cookies?: string[];
  /** Send the body base64-encoded (as API Gateway does for binary media types). */
  base64?: boolean;
  requestId?: string;
  sourceIp?: string;
  /**
   * Claims a JWT authorizer verified: put in `requestContext.authorizer.jwt` as API Gateway does
   * (every value as a string; `scope` gives `scopes`). Absent: no authorizer ran (`$default`).
   */
  jwt?: Record<string, unknown>;
}

/** `requestContext.authorizer` as API Gateway's JWT authorizer passes verified claims on. */
function authorizerOf(jwt: Record<string, unknown>): { jwt: JwtAuthorizerContext } {
  const claims = Object.fromEntries(Object.entries(jwt).filter(([, value]) => value !== undefined).map(([name, value]) => [name, claimText(value)]));
  const scopes = tokenScopes(jwt);
  return { jwt: { claims, scopes: scopes.length > 0 ? scopes : null } };
}

function parts(method: string, path: string, options: TestEventOptions) {
  const rawQueryString =
    options.query === undefined ? '' : typeof options.query === 'string' ? options.query : new URLSearchParams(options.query).toString();
  const bodyText = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const headers: Record<string, string> = {
    host: 'tenant.example.com',
    'user-agent': 'sovereign-test',
    ...(bodyText !== undefined && typeof options.body !== 'string' ? { 'content-type': 'application/json' } : {}),
    ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  const body = bodyText === undefined ? undefined : options.base64 ? Buffer.from(bodyText).toString('base64') : bodyText;
  const queryStringParameters = rawQueryString
    ? Object.fromEntries(new URLSearchParams(rawQueryString))
    : undefined;
  return { rawQueryString, headers, body, queryStringParameters, requestId: options.requestId ?? randomUUID() };
}

/** Where an event comes from: an HTTP API or a Function URL; they differ only in these. */
interface EventSource {
  accountId: string;
  apiId: string;
  domainName: string;
  extraHeaders: Record<string, string>;
}

function payloadV2(source: EventSource, method: string, path: string, options: TestEventOptions): HttpEventV2 {
  const p = parts(method, path, options);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: p.rawQueryString,
    ...(options.cookies ? { cookies: options.cookies } : {}),
    headers: { ...source.extraHeaders, ...p.headers },
    ...(p.queryStringParameters ? { queryStringParameters: p.queryStringParameters } : {}),
    requestContext: {
      accountId: source.accountId,
      apiId: source.apiId,
      domainName: source.domainName,
      domainPrefix: source.apiId,
      http: {
        method: method.toUpperCase(),
        path,
        protocol: 'HTTP/1.1',
        sourceIp: options.sourceIp ?? '203.0.113.7',
        userAgent: p.headers['user-agent'] ?? '',
      },
      requestId: p.requestId,
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      ...(options.jwt === undefined ? {} : { authorizer: authorizerOf(options.jwt) }),
    },
    ...(p.body === undefined ? {} : { body: p.body }),
    isBase64Encoded: options.base64 ?? false,
  };
}

/** What API Gateway and Function URLs both add to every request they forward. */
const FORWARDED_HEADERS: Readonly<Record<string, string>> = {
  accept: '*/*',
  'x-amzn-trace-id': 'Root=1-5f84c7a9-0123456789abcdef01234567',
  'x-forwarded-for': '203.0.113.7',
  'x-forwarded-port': '443',
  'x-forwarded-proto': 'https',
};

/** An API Gateway HTTP API (payload format 2.0, `$default` route) event. */
export function apiGatewayEvent(method: string, path: string, options: TestEventOptions = {}): HttpEventV2 {
  return payloadV2(
    {
      accountId: '123456789012',
      apiId: 'abc123defg',
      domainName: 'abc123defg.execute-api.eu-west-1.amazonaws.com',
      extraHeaders: { ...FORWARDED_HEADERS, 'accept-encoding': 'gzip, deflate, br' },
    },
    method,
    path,
    options,
  );
}

/** A Lambda Function URL event (payload 2.0 with `routeKey: '$default'` and no API id). */
export function functionUrlEvent(method: string, path: string, options: TestEventOptions = {}): HttpEventV2 {
  return payloadV2(
    {
      accountId: 'anonymous',
      apiId: 'f2l3d4urlid',
      domainName: 'f2l3d4urlid.lambda-url.eu-west-1.on.aws',
      extraHeaders: { ...FORWARDED_HEADERS, 'x-amzn-tls-cipher-suite': 'ECDHE-RSA-AES128-GCM-SHA256', 'x-amzn-tls-version': 'TLSv1.2' },
    },
    method,
    path,
    options,
  );
}
