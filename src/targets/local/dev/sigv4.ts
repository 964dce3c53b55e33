/**
 * Verifies an AWS Signature Version 4 (`Authorization: AWS4-HMAC-SHA256 …`) over the exact bytes
 * of a request, the way an AWS service does before it looks at anything else: the signature is
 * recomputed from the received method, path, query, signed headers and body with the secret of
 * the access key it names, following AWS's published algorithm (canonical request → string to
 * sign → HMAC chain `AWS4<secret>` / date / region / service / `aws4_request`), and compared in
 * constant time. The date must be within AWS's 15-minute window of now.
 *
 * Pure apart from node:crypto: the caller looks the key up (`secretOf`) and says what time it is.
 * The checks run in the order DynamoDB reports them (date, credential scope, key id, signature,
 * session token), and each failure carries the `__type` and message DynamoDB answers with.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type SigV4Error =
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'InvalidSignatureException'
  | 'UnrecognizedClientException';

export interface SigV4Failure {
  ok: false;
  error: SigV4Error;
  message: string;
}

export interface SignedRequest {
  method: string;
  /** The request target as received (`/` or `/path?query`). */
  url: string;
  /** `rawHeaders` of the request: name, value, name, value, … */
  rawHeaders: string[];
  body: Buffer;
}

/** What the verifier needs to know of a key: its secret and, for session credentials, the token. */
export interface KeyMaterial {
  secretAccessKey: string;
  sessionToken?: string;
}

export interface VerifyOptions {
  service: string;
  region: string;
  now: Date;
  secretOf: (accessKeyId: string) => KeyMaterial | undefined;
}

const FIFTEEN_MINUTES_MS = 15 * 60 * 1000;
export const UNRECOGNIZED_TOKEN_MESSAGE = 'The security token included in the request is invalid.';
const SIGNATURE_MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

const fail = (error: SigV4Error, message: string): SigV4Failure => ({ ok: false, error, message });

/** `YYYYMMDDTHHMMSSZ`, AWS's basic ISO 8601 form. */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function parseAmzDate(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  return Number.isNaN(date.getTime()) || amzDate(date) !== text ? undefined : date;
}

/** RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else `%XX`. */
function uriEncode(text: string, keepSlash: boolean): string {
  const encoded = encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Services other than S3: the path normalised, then encoded once more over its wire form. */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalised = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return uriEncode(normalised || '/', true);
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const at = pair.indexOf('=');
      const key = at < 0 ? pair : pair.slice(0, at);
      const value = at < 0 ? '' : pair.slice(at + 1);
      return [uriEncode(safeDecode(key.replace(/\+/g, ' ')), false), uriEncode(safeDecode(value.replace(/\+/g, ' ')), false)] as const;
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** Every value of each header, lower-cased names, in arrival order. */
function headerValues(rawHeaders: string[]): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const values = headers.get(name) ?? [];
    values.push(rawHeaders[i + 1]!);
    headers.set(name, values);
  }
  return headers;
}

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** The signing key of a secret for one day, region and service. */
export function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
}

/** The canonical request of AWS's algorithm, from what was received. */
export function canonicalRequest(request: SignedRequest, signedHeaders: string[]): string {
  const headers = headerValues(request.rawHeaders);
  const at = request.url.indexOf('?');
  const path = at < 0 ? request.url : request.url.slice(0, at);
  const query = at < 0 ? '' : request.url.slice(at + 1);
  const lines = signedHeaders.map((name) => `${name}:${(headers.get(name) ?? []).map((v) => v.trim().replace(/\s+/g, ' ')).join(',')}\n`);
  return [request.method.toUpperCase(), canonicalPath(path), canonicalQuery(query), lines.join(''), signedHeaders.join(';'), sha256Hex(request.body)].join('\n');
}

/** The signature of a request for the given credential scope (what a client computes). */
export function computeSignature(request: SignedRequest, signedHeaders: string[], secret: string, date: string, region: string, service: string): string {
  const day = date.slice(0, 8);
  const stringToSign = ['AWS4-HMAC-SHA256', date, `${day}/${region}/${service}/aws4_request`, sha256Hex(canonicalRequest(request, signedHeaders))].join('\n');
  return createHmac('sha256', signingKey(secret, day, region, service)).update(stringToSign).digest('hex');
}

function sameSecret(a: string, b: string): boolean {
  // Hashed first: equal lengths for timingSafeEqual, and the time says nothing of either length.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function parseAuthorization(header: string): { credential?: string; signedHeaders?: string; signature?: string } {
  const params: Record<string, string> = {};
  for (const part of header.slice('AWS4-HMAC-SHA256'.length).split(',')) {
    const at = part.indexOf('=');
    if (at > 0) params[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return { credential: params.Credential, signedHeaders: params.SignedHeaders, signature: params.Signature };
}

/** The access key a request is signed with, and whose it is, or AWS's error for it. */
export function verifySigV4(request: SignedRequest, options: VerifyOptions): { ok: true; accessKeyId: string } | SigV4Failure {
  const headers = headerValues(request.rawHeaders);
  const authorization = headers.get('authorization');
  if (authorization === undefined || !authorization[0]!.trim().startsWith('AWS4-')) return fail('MissingAuthenticationTokenException', 'Request is missing Authentication Token');
  if (authorization.length > 1) return fail('IncompleteSignatureException', 'Request must contain exactly one Authorization header.');
  const header = authorization[0]!.trim();
  const algorithm = header.split(/\s/, 1)[0]!;
  const { credential, signedHeaders, signature } = parseAuthorization(header);
  const missing = [['Credential', credential], ['Signature', signature], ['SignedHeaders', signedHeaders]].filter(([, v]) => !v).map(([k]) => `Authorization header requires '${k}' parameter. `);
  const dateText = headers.get('x-amz-date')?.[0];
  if (dateText === undefined) missing.push("Authorization header requires existence of a 'X-Amz-Date' header. ");
  if (missing.length > 0) return fail('IncompleteSignatureException', `${missing.join('')}Authorization=${algorithm}`);

  const date = parseAmzDate(dateText!);
  if (!date) return fail('IncompleteSignatureException', `Date must be in ISO-8601 'basic format'. Got '${dateText}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  const now = options.now.getTime();
  if (date.getTime() < now - FIFTEEN_MINUTES_MS) {
    return fail('InvalidSignatureException', `Signature expired: ${dateText} is now earlier than ${amzDate(new Date(now - FIFTEEN_MINUTES_MS))} (${amzDate(options.now)} - 15 min.)`);
  }
  if (date.getTime() > now + FIFTEEN_MINUTES_MS) {
    return fail('InvalidSignatureException', `Signature not yet current: ${dateText} is still later than ${amzDate(new Date(now + FIFTEEN_MINUTES_MS))} (${amzDate(options.now)} + 15 min.)`);
  }
  const signed = signedHeaders!.split(';');
  if (!signed.includes('host')) return fail('InvalidSignatureException', "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  if (algorithm !== 'AWS4-HMAC-SHA256') return fail('IncompleteSignatureException', `Unsupported AWS 'algorithm': '${algorithm}' (only AWS4-HMAC-SHA256 for now). `);
  const scope = credential!.replace(/\/+$/, '').split('/');
  if (scope.length !== 5) return fail('IncompleteSignatureException', `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`);
  const [accessKeyId, day, region, service, terminator] = scope as [string, string, string, string, string];
  let scopeErrors = '';
  if (region !== options.region) scopeErrors += `Credential should be scoped to a valid region, not '${region}'. `;
  if (service !== options.service) scopeErrors += `Credential should be scoped to correct service: '${options.service}'. `;
  if (terminator !== 'aws4_request') scopeErrors += `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'. `;
  if (day !== dateText!.slice(0, 8)) scopeErrors += `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${day}' != '${dateText!.slice(0, 8)}', from '${dateText}'.`;
  if (scopeErrors) return fail('InvalidSignatureException', scopeErrors.trim());

  const key = options.secretOf(accessKeyId);
  if (!key) return fail('UnrecognizedClientException', UNRECOGNIZED_TOKEN_MESSAGE);
  const expected = computeSignature(request, signed, key.secretAccessKey, dateText!, region, service);
  const given = Buffer.from(signature!, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected, 'utf8'))) return fail('InvalidSignatureException', SIGNATURE_MISMATCH_MESSAGE);
  const token = headers.get('x-amz-security-token');
  if (key.sessionToken !== undefined && (token?.length !== 1 || !sameSecret(token[0]!, key.sessionToken))) return fail('UnrecognizedClientException', UNRECOGNIZED_TOKEN_MESSAGE);
  return { ok: true, accessKeyId };
}
