/**
 * Who may see the console, decided before any page or data is built. The console shows every
 * tenant's logs and counters, so it answers only:
 *
 * - on a loopback Host (`localhost`, `127.0.0.1`, `[::1]`, with dev's port): a page of another
 *   site whose name was rebound to 127.0.0.1 (DNS rebinding) sends its own name and is refused;
 * - a caller with the run's console token: `?token=` once (it becomes a cookie and the URL is
 *   redirected to itself without it, out of the browser's history), then the cookie, or
 *   `Authorization: Bearer <token>` for scripts;
 * - a browser request that is not cross-site: `Sec-Fetch-Site` of `same-site` or `cross-site`
 *   (another origin, a `<tenant>.localhost` page among them) is refused even with the cookie.
 *
 * The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it) and
 * Path=/_sovereign/ (it never travels to `/t/<tenant>/` routes, so no tenant's process sees it).
 * It is not the token itself but a digest of it, so it cannot be replayed as `?token=`; a new run of
 * `dev` has a new token, and every older cookie stops working.
 */
import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { sameToken } from '../state-file.js';

export const CONSOLE_PATH = '/_sovereign/console';
export const CONSOLE_COOKIE = 'sovereign_console';

/** Whether a gateway path is the console's (its pages, data and static files). */
export function isConsolePath(path: string): boolean {
  return path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);
}

/**
 * Headers of every console answer: no script but the console's own file, no inline script or
 * style, no framing, no CORS (none of the `Access-Control-*` headers is ever sent), no caching,
 * and a window of its own (a page that opened it cannot reach into it).
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** The cookie's value for a token: a keyed digest, not the token. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('sovereign console session').digest('base64url');
}

/** `Set-Cookie` for a token. */
export function sessionCookie(token: string): string {
  return `${CONSOLE_COOKIE}=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/_sovereign/`;
}

/** Every value of the console cookie in a `Cookie` header (a tossed cookie of the same name may stand beside the real one). */
function cookieValues(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${CONSOLE_COOKIE}=`))
    .map((part) => part.slice(CONSOLE_COOKIE.length + 1));
}

/** Whether a Host header names this machine's loopback on dev's port. */
export function isLoopbackHost(host: string | undefined, port: number): boolean {
  const match = /^(localhost|127\.0\.0\.1|\[::1\])(?::(\d+))?$/.exec((host ?? '').toLowerCase());
  return match !== null && (match[2] === undefined || Number(match[2]) === port);
}

export type GuardDecision =
  /** Passes; `via` says which credential it showed. */
  | { kind: 'pass'; via: 'cookie' | 'bearer' }
  /** A valid `?token=`: set the cookie and redirect to the URL without it. */
  | { kind: 'exchange'; location: string }
  | { kind: 'refuse'; status: 401 | 403 | 421; reason: string };

/** Decides one console request (see the module comment). */
export function guardConsoleRequest(req: Pick<IncomingMessage, 'headers'>, path: string, query: URLSearchParams, options: { token: string; port: number }): GuardDecision {
  if (!isLoopbackHost(req.headers.host, options.port)) {
    return { kind: 'refuse', status: 421, reason: `the console answers on localhost:${options.port} only` };
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return { kind: 'refuse', status: 403, reason: 'the console answers its own pages only, not requests from other sites' };
  }
  const presented = query.get('token');
  if (presented !== null) {
    if (!sameToken(presented, options.token)) return { kind: 'refuse', status: 401, reason: 'this token is not this run of sovereign dev\'s; open the console URL it printed' };
    query.delete('token');
    const rest = query.toString();
    return { kind: 'exchange', location: rest ? `${path}?${rest}` : path };
  }
  const bearer = /^Bearer ([A-Za-z0-9_-]{1,256})$/.exec(req.headers.authorization ?? '')?.[1];
  if (bearer !== undefined && sameToken(bearer, options.token)) return { kind: 'pass', via: 'bearer' };
  const session = sessionValue(options.token);
  if (cookieValues(req.headers.cookie).some((value) => sameToken(value, session))) return { kind: 'pass', via: 'cookie' };
  return { kind: 'refuse', status: 401, reason: 'open the console URL sovereign dev printed (it carries this run\'s token)' };
}
