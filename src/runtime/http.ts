/**
 * The two event shapes the runtime serves — API Gateway HTTP API payload 2.0 and Lambda Function
 * URL (the same 2.0 format) — and the response shape plus RFC 9457 problem documents.
 */
import type { JwtAuthorizerContext } from '../contract/auth.js';

/** API Gateway HTTP API (payload 2.0) and Lambda Function URL event. */
export interface HttpEventV2 {
  version: '2.0' | string;
  routeKey?: string;
  rawPath: string;
  rawQueryString?: string;
  cookies?: string[];
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  requestContext: {
    requestId?: string;
    http: { method: string; path?: string; sourceIp?: string; protocol?: string; userAgent?: string };
    [key: string]: unknown;
  };
  body?: string | null;
  isBase64Encoded?: boolean;
  [key: string]: unknown;
}

/** The Lambda context fields the runtime uses. */
export interface LambdaContextLike {
  awsRequestId?: string;
  [key: string]: unknown;
}

/** Structured result for payload 2.0 / Function URLs. */
export interface HttpResultV2 {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
  cookies?: string[];
}

/** An incoming request, normalised. */
export interface IncomingRequest {
  /** The claims API Gateway's JWT authorizer (or the `dev` gateway) verified, when a route has one. */
  readonly authorizer?: JwtAuthorizerContext | undefined;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Raw body bytes as text (base64 decoded). */
  body: string;
  /** Size of the body in bytes. */
  bodyBytes: number;
  requestId: string;
  sourceIp: string | undefined;
}

/** The methods as API Gateway sends them (already upper case): no `toUpperCase` per request. */
const UPPER_METHODS: Record<string, string | undefined> = Object.assign(Object.create(null) as Record<string, string>, {
  GET: 'GET', POST: 'POST', PUT: 'PUT', PATCH: 'PATCH', DELETE: 'DELETE', HEAD: 'HEAD', OPTIONS: 'OPTIONS',
});

/**
 * The request as the runtime sees it. Headers and query are built on first read: most routes never
 * look at them, and a real API Gateway event carries a dozen headers.
 */
class NormalisedRequest implements IncomingRequest {
  readonly method: string;
  readonly path: string;
  readonly body: string;
  readonly bodyBytes: number;
  readonly requestId: string;
  readonly sourceIp: string | undefined;
  readonly #event: HttpEventV2;
  #headers: Record<string, string> | undefined;
  #query: Record<string, string> | undefined;

  constructor(event: HttpEventV2, context: LambdaContextLike | undefined, fallbackId: () => string) {
    this.#event = event;
    const http = event.requestContext?.http;
    const method = http?.method;
    this.method = method === undefined ? 'GET' : (UPPER_METHODS[method] ?? method.toUpperCase());
    let path = event.rawPath || http?.path || '/';
    if (path.includes('%')) {
      try {
        path = decodeURI(path);
      } catch {
        // keep the raw path; the router will not match it
      }
    }
    this.path = path;
    let body = '';
    let bodyBytes = 0;
    if (typeof event.body === 'string' && event.body.length > 0) {
      if (event.isBase64Encoded) {
        const bytes = Buffer.from(event.body, 'base64');
        bodyBytes = bytes.length;
        body = bytes.toString('utf8');
      } else {
        body = event.body;
        bodyBytes = Buffer.byteLength(body);
      }
    }
    this.body = body;
    this.bodyBytes = bodyBytes;
    this.requestId = event.requestContext?.requestId || context?.awsRequestId || fallbackId();
    this.sourceIp = http?.sourceIp;
  }

  get headers(): Record<string, string> {
    return (this.#headers ??= headersOf(this.#event));
  }

  get query(): Record<string, string> {
    return (this.#query ??= queryOf(this.#event));
  }

  /** API Gateway's object itself (no copy): `scopes` may be absent or null. */
  get authorizer(): JwtAuthorizerContext | undefined {
    const jwt = (this.#event.requestContext?.authorizer as { jwt?: JwtAuthorizerContext } | undefined)?.jwt;
    return typeof jwt === 'object' && jwt !== null && typeof jwt.claims === 'object' && jwt.claims !== null ? jwt : undefined;
  }

  toJSON(): IncomingRequest {
    const { method, path, query, headers, body, bodyBytes, requestId, sourceIp, authorizer } = this;
    return { method, path, query, headers, body, bodyBytes, requestId, sourceIp, authorizer };
  }
}

function headersOf(event: HttpEventV2): Record<string, string> {
  const headers: Record<string, string> = {};
  const given = event.headers;
  if (given) {
    for (const name in given) {
      const value = given[name];
      if (value !== undefined) headers[name.toLowerCase()] = value;
    }
  }
  if (event.cookies && event.cookies.length > 0 && headers.cookie === undefined) headers.cookie = event.cookies.join('; ');
  return headers;
}

function queryOf(event: HttpEventV2): Record<string, string> {
  const query: Record<string, string> = {};
  if (event.rawQueryString) {
    for (const [name, value] of new URLSearchParams(event.rawQueryString)) if (!(name in query)) query[name] = value;
  } else if (event.queryStringParameters) {
    for (const [name, value] of Object.entries(event.queryStringParameters)) if (value !== undefined) query[name] = value;
  }
  return query;
}

export function normaliseEvent(event: HttpEventV2, context: LambdaContextLike | undefined, fallbackId: () => string): IncomingRequest {
  return new NormalisedRequest(event, context, fallbackId);
}

/** RFC 9457 problem details plus the request id. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  requestId: string;
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  401: 'Unauthorized',
  429: 'Too Many Requests',
  409: 'Conflict',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** Problem type URIs are stable identifiers under this base. */
export const PROBLEM_TYPE_BASE = 'https://sovereign.dev/problems/';

export function problem(
  status: number,
  slug: string,
  request: Pick<IncomingRequest, 'path' | 'requestId'>,
  detail?: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): HttpResultV2 {
  const document: Problem = {
    type: `${PROBLEM_TYPE_BASE}${slug}`,
    title: TITLES[status] ?? 'Error',
    status,
    ...(detail === undefined ? {} : { detail }),
    instance: request.path,
    requestId: request.requestId,
    ...extra,
  };
  return {
    statusCode: status,
    headers: { 'content-type': 'application/problem+json', 'x-request-id': request.requestId, ...headers },
    body: JSON.stringify(document),
    isBase64Encoded: false,
  };
}

export function json(status: number, value: unknown, requestId: string, headers?: Record<string, string>): HttpResultV2 {
  return {
    statusCode: status,
    headers: headers === undefined
      ? { 'content-type': 'application/json', 'x-request-id': requestId }
      : { 'content-type': 'application/json', 'x-request-id': requestId, ...headers },
    body: JSON.stringify(value),
    isBase64Encoded: false,
  };
}
