/**
 * The billing webhook as the control plane's Lambda function (behind its Function URL, or an HTTP
 * API route: both deliver payload 2.0 events). It adapts the event to `handleBillingWebhook` — the
 * body as the exact bytes received, base64-decoded when `isBase64Encoded`, since the signature
 * covers those bytes — and hosts it on the aws state and ledger (`targets/aws/billing-host.ts`).
 *
 * Configuration comes from the environment the control-plane template sets (validated once, at
 * cold start): project, stage, the `billing` config as JSON, and a *reference* to the signing
 * secret, resolved through the runtime's secret resolver (cached five minutes, fetched again when
 * a signature does not match an older copy, so a rotated secret is picked up). Secret values are
 * registered with a redactor that every log line and answer goes through.
 */
import type { HttpEventV2, HttpResultV2, LambdaContextLike } from '../runtime/http.js';
import { Redactor } from '../runtime/redact.js';
import type { SecretFetcher } from '../runtime/secrets/fetcher.js';
import { SecretNotFoundError } from '../runtime/errors.js';
import { SecretResolver } from '../runtime/secrets/resolver.js';
import { parseReference } from '../contract/reference.js';
import { BILLING_FUNCTION_ENV } from '../templates/control-plane.js';
import { parseBillingConfig, type BillingConfig } from './config.js';
import { splitSecrets } from './signature.js';
import { BILLING_WEBHOOK_PATH, handleBillingWebhook, type BillingWebhookDeps, type BillingWebhookRequest, type BillingWebhookResponse } from './webhook.js';

export interface BillingLambdaSettings {
  project: string;
  stage: string;
  config: BillingConfig;
  /** Reference to the signing secret (never its value). */
  secretReference: string;
}

/** Reads and validates the function's environment; a problem names the variable, never a value. */
export function readBillingLambdaSettings(env: Record<string, string | undefined>): BillingLambdaSettings {
  const read = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') throw new Error(`${name} is not set`);
    return value;
  };
  const project = read(BILLING_FUNCTION_ENV.project);
  const stage = read(BILLING_FUNCTION_ENV.stage);
  let raw: unknown;
  try {
    raw = JSON.parse(read(BILLING_FUNCTION_ENV.config));
  } catch (error) {
    throw new Error(`${BILLING_FUNCTION_ENV.config} is not JSON`, { cause: error });
  }
  const config = parseBillingConfig(raw);
  const secretReference = read(BILLING_FUNCTION_ENV.secretReference);
  const parsed = parseReference(secretReference);
  if (!parsed.ok) throw new Error(`${BILLING_FUNCTION_ENV.secretReference} is not a secret reference: ${parsed.problem.message}`);
  return { project, stage, config, secretReference };
}

/** The request `handleBillingWebhook` takes, from a payload 2.0 event. */
export function webhookRequestOf(event: HttpEventV2): BillingWebhookRequest & { method: string; path: string } {
  const body = typeof event.body === 'string' ? event.body : '';
  return {
    method: (event.requestContext?.http?.method ?? 'GET').toUpperCase(),
    path: event.rawPath || event.requestContext?.http?.path || '/',
    headers: { ...(event.headers ?? {}) },
    rawBody: event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8'),
  };
}

/** What the handler needs of aws, made once per environment. */
export type BillingHost = Omit<BillingWebhookDeps, 'secrets'>;

export interface BillingLambdaOptions {
  env?: Record<string, string | undefined>;
  /** Builds the aws host (tests inject mocked clients through it); default `targets/aws/billing-host.ts`. */
  host?: (settings: BillingLambdaSettings, log: (line: string) => void) => BillingHost | Promise<BillingHost>;
  /** Where the signing secret is read; default the runtime's SSM / Secrets Manager backend. */
  secretBackend?: SecretFetcher;
  now?: () => number;
  /** One JSON log line (default stdout, which Lambda sends to the log group). */
  write?: (line: string) => void;
}

/** A signature that fails against a copy of the secret older than this fetches the secret again. */
const SECRET_REFETCH_AFTER_MS = 60_000;
const SECRET_TTL_MS = 300_000;

function json(status: number, body: unknown): HttpResultV2 {
  return { statusCode: status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), isBase64Encoded: false };
}

export function createBillingLambdaHandler(options: BillingLambdaOptions = {}): (event: HttpEventV2, context?: LambdaContextLike) => Promise<HttpResultV2> {
  const now = options.now ?? Date.now;
  const redactor = new Redactor();
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  let requestId: string | undefined;
  const log = (level: 'info' | 'warn' | 'error', message: string) =>
    write(JSON.stringify({ time: new Date(now()).toISOString(), level, component: 'billing-webhook', ...(requestId ? { requestId } : {}), message: redactor.redactString(message) }));

  /** When the signing secret was last fetched from its store. */
  let loadedAt = 0;
  let ready: Promise<{ settings: BillingLambdaSettings; host: BillingHost; resolver: SecretResolver }> | undefined;
  const init = async () => {
    const settings = readBillingLambdaSettings(options.env ?? process.env);
    const host = await (options.host ?? (async (s, l) => (await import('../targets/aws/billing-host.js')).createAwsBillingHost(s, { log: l, now })))(settings, (line) => log('info', line));
    const source = options.secretBackend ?? (await import('../runtime/secrets/aws.js')).createAwsSecretFetcher();
    const backend: SecretFetcher = {
      name: source.name,
      fetch: async (reference) => {
        const value = await source.fetch(reference);
        loadedAt = now();
        return value;
      },
    };
    // No stale copies: a secret that cannot be read is "not configured", never an old value kept alive.
    const resolver = new SecretResolver({ backend, redactor, cache: { ttlMs: SECRET_TTL_MS, staleWhileRevalidateMs: 0, maxStaleMs: 0, now } });
    return { settings, host, resolver };
  };

  const signingSecrets = async (resolver: SecretResolver, reference: string, fresh: boolean): Promise<string[]> => {
    if (fresh) resolver.invalidate([reference]);
    const value = await resolver.resolve(reference);
    const secrets = splitSecrets(value);
    for (const secret of secrets) redactor.add(secret);
    return secrets;
  };

  return async (event, context) => {
    requestId = event.requestContext?.requestId ?? context?.awsRequestId;
    let environment: Awaited<NonNullable<typeof ready>>;
    try {
      ready ??= init();
      environment = await ready;
    } catch (error) {
      ready = undefined;
      log('error', `the billing webhook is misconfigured: ${error instanceof Error ? error.message : String(error)}`);
      return json(500, { error: 'misconfigured', message: 'the billing webhook function is misconfigured; see its log' });
    }
    const { settings, host, resolver } = environment;
    const request = webhookRequestOf(event);
    if (request.method !== 'POST') return json(405, { error: 'method-not-allowed', message: 'billing webhooks are POST requests' });
    if (request.path !== '/' && request.path !== BILLING_WEBHOOK_PATH) return json(404, { error: 'not-found', message: `billing webhooks are delivered to / or ${BILLING_WEBHOOK_PATH}` });

    const deliver = async (fresh: boolean): Promise<BillingWebhookResponse> => {
      let secrets: string[];
      try {
        secrets = await signingSecrets(resolver, settings.secretReference, fresh);
      } catch (error) {
        if (!(error instanceof SecretNotFoundError)) {
          log('error', `reading the signing secret ${settings.secretReference} failed: ${error instanceof Error ? error.message : String(error)}`);
          return { status: 503, body: { error: 'secret-unavailable', message: 'the signing secret cannot be read right now; the delivery will be retried' } };
        }
        secrets = [];
      }
      return handleBillingWebhook(request, {
        ...host,
        secrets,
        now,
        notConfiguredMessage: `store the signing secret at ${settings.secretReference} to accept billing webhooks`,
      });
    };

    try {
      let answer = await deliver(false);
      if (answer.status === 400 && answer.body.error === 'signature-mismatch' && now() - loadedAt > SECRET_REFETCH_AFTER_MS) answer = await deliver(true);
      if (answer.status >= 500) log('error', `answered ${answer.status}: ${String(answer.body.message ?? answer.body.error)}`);
      else if (answer.status >= 400) log('warn', `answered ${answer.status}: ${String(answer.body.error)}`);
      return json(answer.status, redactor.redact(answer.body));
    } catch (error) {
      log('error', `billing webhook failed: ${error instanceof Error ? error.message : String(error)}`);
      return json(500, { error: 'processing-failed', message: 'the delivery failed; it will be retried' });
    }
  };
}

/** The function's handler (`index.handler` in the control-plane template). */
export const handler = createBillingLambdaHandler();
