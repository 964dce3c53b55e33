/**
 * `/_sovereign/console` on dev's gateway: read-only pages, the JSON their script polls, and the
 * script and stylesheet themselves (plain files shipped in the package, read once). Every request
 * passes {@link guardConsoleRequest} first; only GET and HEAD are answered.
 *
 * | path | what |
 * |---|---|
 * | `/_sovereign/console` (`?minutes=5\|15\|60`) | tenants and their traffic |
 * | `/_sovereign/console/logs?tenant=&level=&q=` | recent log lines, filtered |
 * | `/_sovereign/console/secrets` | secret references with age and rotation state |
 * | `/_sovereign/console/audit` | the audit chain's status |
 * | `/_sovereign/console/api/overview`, `/api/logs` | the same as JSON, for the script |
 * | `/_sovereign/console/static/console.js`, `console.css` | the script and the stylesheet |
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { discardBody } from '../body.js';
import { AuditStatusCache, auditSummary, consoleMinutes, logLines, logQuery, overviewDocument, secretsDocument, type ConsoleSource } from './data.js';
import { CONSOLE_HEADERS, CONSOLE_PATH, guardConsoleRequest, sessionCookie } from './guard.js';
import { auditPage, logsPage, overviewPage, refusedPage, secretsPage } from './pages.js';

/**
 * The static files, beside this module's source: `src/targets/local/dev/console/static/` is in the
 * package's `files`, and the compiled module (`dist/targets/local/dev/console/`) finds it there.
 */
const STATIC_DIR = fileURLToPath(new URL('../../../../../src/targets/local/dev/console/static/', import.meta.url));
const STATIC_FILES: Record<string, string> = { 'console.js': 'text/javascript; charset=utf-8', 'console.css': 'text/css; charset=utf-8' };

export interface DevConsoleOptions {
  /** This run's console token (`?token=`, the cookie's key, `Authorization: Bearer`). */
  token: string;
  /** The gateway's port (Host headers must name it). */
  port(): number;
  source: ConsoleSource;
}

export class DevConsole {
  private readonly audit: AuditStatusCache;
  private readonly files = new Map<string, Buffer>();

  constructor(private readonly options: DevConsoleOptions) {
    this.audit = new AuditStatusCache(options.source.project);
  }

  /** This run's token (written into `dev.json` beside dev's own). */
  get token(): string {
    return this.options.token;
  }

  /** The URL `dev` prints: opening it signs the browser in. */
  url(): string {
    return `http://localhost:${this.options.port()}${CONSOLE_PATH}?token=${this.options.token}`;
  }

  /** Answers one request whose path is the console's. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, query: string): void {
    discardBody(req, res, 0);
    const send = (status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
      // A page built asynchronously may finish after a refusal was written.
      if (res.headersSent) return;
      const buffer = typeof body === 'string' ? Buffer.from(body) : body;
      res.writeHead(status, { ...CONSOLE_HEADERS, 'content-type': type, 'content-length': String(buffer.length), ...extra });
      res.end(req.method === 'HEAD' ? undefined : buffer);
    };
    const api = path.startsWith(`${CONSOLE_PATH}/api/`);
    const refuse = (status: number, reason: string, extra: Record<string, string> = {}) =>
      api
        ? send(status, 'application/problem+json', `${JSON.stringify({ type: 'https://sovereign.dev/problems/dev-console', title: 'Refused', status, detail: reason, instance: path })}\n`, extra)
        : send(status, 'text/html; charset=utf-8', refusedPage(status, reason), extra);

    const params = new URLSearchParams(query);
    const decision = guardConsoleRequest(req, path, params, { token: this.options.token, port: this.options.port() });
    if (decision.kind === 'refuse') return refuse(decision.status, decision.reason, decision.status === 401 ? { 'www-authenticate': 'Bearer realm="sovereign dev console"' } : {});
    if (decision.kind === 'exchange') {
      if (res.headersSent) return;
      res.writeHead(303, { ...CONSOLE_HEADERS, 'set-cookie': sessionCookie(this.options.token), location: decision.location, 'content-length': '0' });
      res.end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(405, 'the console is read-only: GET only', { allow: 'GET, HEAD' });

    const html = (page: string) => send(200, 'text/html; charset=utf-8', page);
    const json = (value: unknown) => send(200, 'application/json', `${JSON.stringify(value)}\n`);
    const fail = (error: unknown) => {
      if (!res.headersSent) refuse(500, `the console could not read this page: ${(error as Error).message.split('\n')[0]}`);
    };
    const source = this.options.source;
    const tenantIds = () => source.tenants().map((t) => t.record.id);

    if (path.startsWith(`${CONSOLE_PATH}/static/`)) {
      const name = path.slice(`${CONSOLE_PATH}/static/`.length);
      const type = STATIC_FILES[name];
      if (type === undefined) return refuse(404, `no file ${name}`);
      return send(200, type, this.file(name));
    }
    switch (path) {
      case CONSOLE_PATH:
      case `${CONSOLE_PATH}/`:
        return void this.audit.status().then((audit) => html(overviewPage(overviewDocument(source, consoleMinutes(params.get('minutes'))), audit)), fail);
      case `${CONSOLE_PATH}/logs`: {
        const q = logQuery(params);
        return void this.audit.status().then((audit) => html(logsPage(logLines(source, q), q, tenantIds(), audit)), fail);
      }
      case `${CONSOLE_PATH}/secrets`:
        return void Promise.all([secretsDocument(source), this.audit.status()]).then(([doc, audit]) => html(secretsPage(doc, audit)), fail);
      case `${CONSOLE_PATH}/audit`:
        return void this.audit.status().then((audit) => html(auditPage(audit)), fail);
      case `${CONSOLE_PATH}/api/overview`:
        return void this.audit.status().then((audit) => json({ ...overviewDocument(source, consoleMinutes(params.get('minutes'))), audit: auditSummary(audit) }), fail);
      case `${CONSOLE_PATH}/api/logs`: {
        return json({ lines: logLines(source, logQuery(params)) });
      }
      default:
        return refuse(404, `nothing at ${path}`);
    }
  }

  private file(name: string): Buffer {
    let content = this.files.get(name);
    if (!content) {
      content = readFileSync(`${STATIC_DIR}${name}`);
      this.files.set(name, content);
    }
    return content;
  }
}
