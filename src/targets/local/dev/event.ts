/**
 * Translation between plain HTTP and what API Gateway HTTP APIs hand a Lambda function: the
 * payload 2.0 event going in, and the function's result coming back. Pure: no I/O, so the
 * gateway and its tests share exactly one definition.
 */
import { randomBytes } from 'node:crypto';
import type { JwtAuthorizerContext } from '../../../contract/auth.js';

/** API Gateway HTTP API payload 2.0 event, as Lambda receives it. */
export interface ApiGatewayV2Event {
  version: '2.0';
  routeKey: '$default';
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    /** What a JWT authorizer verified; absent on routes without one (and for API-key callers). */
    authorizer?: { jwt: JwtAuthorizerContext };
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: '$default';
    stage: '$default';
    time: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

/** What the gateway knows of one HTTP request. */
export interface GatewayRequest {
  method: string;
  /** Path as the tenant sees it (the `/t/<tenant>` prefix already removed), still percent-encoded. */
  path: string;
  /** Query string without `?`. */
  query: string;
  /** Raw header pairs as received (`IncomingMessage.rawHeaders`). */
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
  protocol: string;
  /** Host name the request was sent to (for `domainName`). */
  host: string;
  /** Local port (for `x-forwarded-port`). */
  port: number;
  now?: number;
  requestId?: string;
  /** The gateway's JWT authorizer's verdict for this request, when the route has one. */
  authorizer?: { jwt: JwtAuthorizerContext };
}

/** An HTTP response ready to write. */
export interface GatewayResponse {
  statusCode: number;
  /** Header name → one value, or several (written as repeated header lines, e.g. `set-cookie`). */
  headers: Record<string, string | string[]>;
  /** Text bodies stay strings: Node writes headers and a string body in one go. */
  body: Buffer | string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's `requestContext.time` format: `12/Mar/2020:19:03:58 +0000`. */
export function formatRequestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/** A random prefix per process and a counter: unique ids without a random draw per request. */
const ID_PREFIX = randomBytes(6);
let idCounter = 0;

/** An id shaped like API Gateway's (`JKJaXmPLvHcESHA=`): 10 bytes, base64. */
export function newRequestId(): string {
  idCounter = (idCounter + 1) >>> 0;
  const bytes = Buffer.alloc(10);
  ID_PREFIX.copy(bytes, 0);
  bytes.writeUInt32BE(idCounter, 6);
  return bytes.toString('base64');
}

/** The 24 hex digits after the time in an X-Ray trace id. */
function traceSuffix(): string {
  return `${ID_PREFIX.toString('hex')}${(idCounter >>> 0).toString(16).padStart(12, '0')}`;
}

/**
 * Content types API Gateway passes as text; any other body (or a body that is not valid UTF-8) is
 * base64-encoded with `isBase64Encoded: true`.
 */
export function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (type.startsWith('text/')) return true;
  return (
    /^application\/([a-z0-9.+-]*\+)?(json|xml)$/.test(type) ||
    type === 'application/x-www-form-urlencoded' ||
    type === 'application/javascript' ||
    type === 'application/graphql' ||
    type === 'application/yaml'
  );
}

function isValidUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds the payload 2.0 event: headers lower-cased and repeated ones joined with `,`, cookies
 * taken out of the headers into `cookies`, repeated query parameters joined with `,`, and the
 * `x-forwarded-*` headers API Gateway adds.
 */
export function toApiGatewayEvent(request: GatewayRequest): ApiGatewayV2Event {
  const now = request.now ?? Date.now();
  const requestId = request.requestId ?? newRequestId();
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i]!.toLowerCase();
    const value = request.rawHeaders[i + 1]!;
    if (name === 'cookie') {
      for (const part of value.split(';')) if (part.trim()) cookies.push(part.trim());
      continue;
    }
    // Hop-by-hop headers never reach the function.
    if (name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding' || name === 'upgrade') continue;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${request.sourceIp}` : request.sourceIp;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = String(request.port);
  headers['x-amzn-trace-id'] = `Root=1-${Math.floor(now / 1000).toString(16)}-${traceSuffix()}`;

  let queryStringParameters: Record<string, string> | undefined;
  if (request.query) {
    queryStringParameters = {};
    for (const [name, value] of new URLSearchParams(request.query)) {
      queryStringParameters[name] = queryStringParameters[name] === undefined ? value : `${queryStringParameters[name]},${value}`;
    }
  }

  let body: string | undefined;
  let isBase64Encoded = false;
  if (request.body.length > 0) {
    if (isTextContentType(headers['content-type']) && isValidUtf8(request.body)) body = request.body.toString('utf8');
    else {
      body = request.body.toString('base64');
      isBase64Encoded = true;
    }
  }

  let decodedPath = request.path;
  try {
    decodedPath = decodeURIComponent(request.path);
  } catch {
    // API Gateway keeps a path it cannot decode as it came.
  }
  const domainName = request.host.replace(/:\d+$/, '');
  const event: ApiGatewayV2Event = {
    version: '2.0',
    routeKey: '$default',
    rawPath: request.path,
    rawQueryString: request.query,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      ...(request.authorizer === undefined ? {} : { authorizer: request.authorizer }),
      domainName,
      domainPrefix: domainName.split('.', 1)[0] ?? domainName,
      http: {
        method: request.method.toUpperCase(),
        path: decodedPath,
        protocol: request.protocol,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: formatRequestTime(now),
      timeEpoch: now,
    },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded,
  };
  return event;
}

/**
 * Turns a function's result into HTTP the way API Gateway does for payload 2.0: a structured
 * result (`statusCode` present) is used as given (`headers`, `multiValueHeaders`, `cookies` →
 * `set-cookie`, `body`, `isBase64Encoded`); anything else is the JSON body of a 200.
 */
export function fromLambdaResult(result: unknown, requestId: string): GatewayResponse {
  const base = { 'apigw-requestid': requestId };
  if (result === null || result === undefined) {
    return { statusCode: 200, headers: { ...base, 'content-type': 'application/json' }, body: result === null ? 'null' : '' };
  }
  if (typeof result !== 'object' || Array.isArray(result) || !('statusCode' in result)) {
    const text = typeof result === 'string' ? result : JSON.stringify(result);
    return { statusCode: 200, headers: { ...base, 'content-type': 'application/json' }, body: text };
  }
  const r = result as {
    statusCode: unknown;
    headers?: Record<string, unknown>;
    multiValueHeaders?: Record<string, unknown[]>;
    cookies?: unknown[];
    body?: unknown;
    isBase64Encoded?: unknown;
  };
  const status = Number(r.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new Error(`the function returned statusCode ${String(r.statusCode)}`);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(r.multiValueHeaders ?? {})) {
    if (Array.isArray(value)) headers[name.toLowerCase()] = value.map(String);
  }
  for (const [name, value] of Object.entries(r.headers ?? {})) {
    if (value !== undefined && value !== null) headers[name.toLowerCase()] = String(value);
  }
  if (Array.isArray(r.cookies) && r.cookies.length > 0) {
    const existing = headers['set-cookie'];
    const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
    headers['set-cookie'] = [...list, ...r.cookies.map(String)];
  }
  Object.assign(headers, base);
  const text = typeof r.body === 'string' ? r.body : r.body === undefined || r.body === null ? '' : JSON.stringify(r.body);
  const body = r.isBase64Encoded === true ? Buffer.from(text, 'base64') : text;
  return { statusCode: status, headers, body };
}

/** An RFC 9457 problem response produced by the gateway itself (never by the function). */
export function gatewayProblem(
  status: number,
  slug: string,
  title: string,
  detail: string,
  instance: string,
  requestId: string,
  headers: Record<string, string> = {},
): GatewayResponse {
  const document = { type: `https://sovereign.dev/problems/${slug}`, title, status, detail, instance, requestId };
  return {
    statusCode: status,
    headers: { 'content-type': 'application/problem+json', 'apigw-requestid': requestId, ...headers },
    body: JSON.stringify(document),
  };
}
