import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generationMarkerToItem, initialGenerationMarker, nextGeneration, serializeGenerationMarker, type GenerationMarker } from '../src/contract/generation.js';
import { createLambdaHandler } from '../src/runtime/handler.js';
import { openWritableVault } from '../src/targets/local/vault-writer.js';
import { startLocalTable, type LocalTable } from '../src/testing/dynalite.js';
import { bundled, makeRuntime, tenantConfig, JSON_CANARY, CANARY , apiGatewayEvent, functionUrlEvent } from './runtime-fixtures.js';

let table: LocalTable;
let dir: string;
beforeAll(async () => {
  table = await startLocalTable('sovereign-dev-acme');
  dir = mkdtempSync(join(tmpdir(), 'sovereign-generation-'));
});
afterAll(async () => {
  await table.close();
  rmSync(dir, { recursive: true, force: true });
});

const SM = 'secretsmanager:dev/tenants/acme/orders';
const tokenLength = async (handler: ReturnType<typeof makeRuntime>['handler']) => {
  const result = await handler(apiGatewayEvent('GET', '/orders/secret'), {});
  expect(result.statusCode).toBe(200);
  return JSON.parse(result.body).length as number;
};

describe('fleet-wide freshness through the generation marker', () => {
  it('re-reads a file marker at most once per interval and refetches only what changed', async () => {
    const file = join(dir, 'acme.generation.json');
    let marker: GenerationMarker = initialGenerationMarker();
    writeFileSync(file, serializeGenerationMarker(marker));
    let now = 1_000_000;
    const { handler, backend } = makeRuntime({ table, generationFile: file, now: () => now, env: { SOVEREIGN_GENERATION_INTERVAL_MS: '1000' } });
    expect(await tokenLength(handler)).toBe(JSON_CANARY.length);
    await handler(apiGatewayEvent('POST', '/orders/orders', { body: { id: 'g1', total: 1 }, query: { dryRun: 'true' } }), {});
    const runtime = await handler.runtime;
    const reads = runtime!.watcher.reads;

    backend.set(SM, JSON.stringify({ token: 'rotated' }));
    marker = nextGeneration(marker, { references: [`${SM}:token`] });
    writeFileSync(file, serializeGenerationMarker(marker));
    now += 500;
    expect(await tokenLength(handler)).toBe(JSON_CANARY.length); // inside the interval: not re-read
    expect(runtime!.watcher.reads).toBe(reads);
    now += 500;
    expect(await tokenLength(handler)).toBe('rotated'.length);
    expect(runtime!.watcher.reads).toBe(reads + 1);
    expect(runtime!.watcher.marker?.generation).toBe(1);
    // The SSM value was not in the change: it stays cached.
    expect(runtime!.resolver.cache.has('ssm:/dev/tenants/acme/orders/api_key')).toBe(true);
  });

  it('invalidates everything when the marker history no longer reaches back', async () => {
    const file = join(dir, 'acme.truncated.json');
    let marker = initialGenerationMarker();
    writeFileSync(file, serializeGenerationMarker(marker));
    const { handler, backend } = makeRuntime({ table, generationFile: file, env: { SOVEREIGN_GENERATION_INTERVAL_MS: '0' } });
    expect(await tokenLength(handler)).toBe(JSON_CANARY.length);
    backend.set(SM, JSON.stringify({ token: 'everything-changed' }));
    for (let i = 0; i < 60; i++) marker = nextGeneration(marker, { references: [`ssm:/dev/tenants/acme/other/${i}`] });
    writeFileSync(file, serializeGenerationMarker(marker));
    expect(await tokenLength(handler)).toBe('everything-changed'.length);
  });

  it('reads the marker item from the tenant table (dynamodb source)', async () => {
    await table.client.send(new PutCommand({ TableName: table.name, Item: generationMarkerToItem(initialGenerationMarker()) }));
    const { handler, backend } = makeRuntime({ table, env: { SOVEREIGN_GENERATION_INTERVAL_MS: '0' } });
    expect(await tokenLength(handler)).toBe(JSON_CANARY.length);
    backend.set(SM, JSON.stringify({ token: 'from-dynamo' }));
    await table.client.send(new PutCommand({ TableName: table.name, Item: generationMarkerToItem(nextGeneration(initialGenerationMarker(), { references: [SM] })) }));
    expect(await tokenLength(handler)).toBe('from-dynamo'.length);
    await table.client.send(new PutCommand({ TableName: table.name, Item: generationMarkerToItem(initialGenerationMarker()) }));
  });

  it('keeps serving with the last known state when the marker cannot be read', async () => {
    const file = join(dir, 'acme.broken.json');
    writeFileSync(file, serializeGenerationMarker(initialGenerationMarker()));
    const { handler, lines } = makeRuntime({ table, generationFile: file, env: { SOVEREIGN_GENERATION_INTERVAL_MS: '0' } });
    expect(await tokenLength(handler)).toBe(JSON_CANARY.length);
    writeFileSync(file, '{ not json');
    expect(await tokenLength(handler)).toBe(JSON_CANARY.length);
    expect(lines.some((l) => l.includes('reading the generation marker failed'))).toBe(true);
  });
});

describe('local vault backend', () => {
  it('serves references from the tenant vault and sees rotations written by the CLI', async () => {
    const key = randomBytes(32);
    const keyFile = join(dir, 'acme.key');
    writeFileSync(keyFile, key.toString('hex'));
    const vaultPath = join(dir, 'acme.vault');
    const vault = openWritableVault(vaultPath, key, 'acme');
    vault.putVersion('ssm:/dev/tenants/acme/orders/api_key', CANARY, { by: 'test' });
    vault.putVersion(SM, JSON.stringify({ token: JSON_CANARY }), { by: 'test' });
    vault.putVersion('ssm:/dev/tenants/acme/_sovereign/webhook_secret', 'whsec_dGVzdA==', { by: 'test' });
    const file = join(dir, 'acme.vault.generation.json');
    writeFileSync(file, serializeGenerationMarker(initialGenerationMarker()));
    const lines: string[] = [];
    const handler = createLambdaHandler(bundled(), {
      env: {
        SOVEREIGN_TENANT: 'acme', SOVEREIGN_STAGE: 'dev', SOVEREIGN_TABLE: table.name,
        SOVEREIGN_TENANT_CONFIG: JSON.stringify(tenantConfig()),
        SOVEREIGN_SECRETS_BACKEND: 'vault', SOVEREIGN_VAULT_PATH: vaultPath, SOVEREIGN_VAULT_KEY_FILE: keyFile,
        SOVEREIGN_GENERATION_SOURCE: `file:${file}`, SOVEREIGN_GENERATION_INTERVAL_MS: '0',
      },
      aws: { documentClient: table.client },
      write: (line) => lines.push(line),
    });
    expect(await tokenLength(handler)).toBe(JSON_CANARY.length);
    const health = JSON.parse((await handler(apiGatewayEvent('GET', '/_sovereign/health'), {})).body);
    expect(health.secrets.map((s: { status: string }) => s.status)).toEqual(['ok', 'ok']);
    openWritableVault(vaultPath, key, 'acme').putVersion(SM, JSON.stringify({ token: 'vault-rotated' }), { by: 'test' });
    writeFileSync(file, serializeGenerationMarker(nextGeneration(initialGenerationMarker(), { references: [SM] })));
    expect(await tokenLength(handler)).toBe('vault-rotated'.length);
    expect(lines.join('\n')).not.toContain(JSON_CANARY);
  });

  it('reports a vault that cannot be opened as an error in health, never crashing', async () => {
    const handler = createLambdaHandler(bundled(), {
      env: {
        SOVEREIGN_TENANT: 'acme', SOVEREIGN_STAGE: 'dev', SOVEREIGN_TABLE: table.name,
        SOVEREIGN_TENANT_CONFIG: JSON.stringify(tenantConfig()),
        SOVEREIGN_SECRETS_BACKEND: 'vault', SOVEREIGN_VAULT_PATH: join(dir, 'none.vault'), SOVEREIGN_VAULT_KEY_FILE: join(dir, 'no.key'),
        SOVEREIGN_GENERATION_SOURCE: `file:${join(dir, 'none.json')}`,
      },
      aws: { documentClient: table.client },
      write: () => undefined,
    });
    const health = JSON.parse((await handler(apiGatewayEvent('GET', '/_sovereign/health'), {})).body);
    expect(health.secrets.map((s: { status: string }) => s.status)).toEqual(['error', 'error']);
    const secret = await handler(apiGatewayEvent('GET', '/orders/secret'), {});
    expect(secret.statusCode).toBe(503);
  });
});

describe('stale-if-error through the runtime', () => {
  it('serves the cached value while the backend fails, up to the maximum staleness, then a clean 503', async () => {
    const { createMemorySecretFetcher } = await import('../src/runtime/secrets/memory.js');
    const memory = createMemorySecretFetcher({
      'secretsmanager:dev/tenants/acme/orders': JSON.stringify({ token: JSON_CANARY }),
      'ssm:/dev/tenants/acme/_sovereign/webhook_secret': 'whsec_dGVzdA==',
    });
    let failing = false;
    let calls = 0;
    const backend = {
      name: 'flaky',
      fetch: async (reference: Parameters<typeof memory.fetch>[0]) => {
        calls++;
        if (failing) throw Object.assign(new Error('ThrottlingException: rate exceeded'), { name: 'ThrottlingException' });
        return memory.fetch(reference);
      },
    };
    let now = 5_000_000;
    const lines: string[] = [];
    const handler = createLambdaHandler(bundled(), {
      env: {
        SOVEREIGN_TENANT: 'acme', SOVEREIGN_STAGE: 'dev', SOVEREIGN_TABLE: table.name,
        SOVEREIGN_TENANT_CONFIG: JSON.stringify(tenantConfig()),
        SOVEREIGN_GENERATION_SOURCE: `file:${join(dir, 'absent.json')}`,
        SOVEREIGN_SECRET_TTL_MS: '1000', SOVEREIGN_SECRET_MAX_STALE_MS: '2000',
      },
      secretBackend: backend,
      aws: { documentClient: table.client },
      now: () => now,
      write: (line) => lines.push(line),
    });
    expect(await tokenLength(handler)).toBe(JSON_CANARY.length);
    failing = true;
    now += 1500; // past the TTL, within the staleness bound
    expect(await tokenLength(handler)).toBe(JSON_CANARY.length);
    now += 400;
    expect(await tokenLength(handler)).toBe(JSON_CANARY.length);
    now += 1200; // 2.1 s past the TTL: beyond the 2 s bound
    const result = await handler(apiGatewayEvent('GET', '/orders/secret', { requestId: 'req-stale' }), {});
    expect(result.statusCode).toBe(503);
    expect(result.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(result.body)).toMatchObject({ status: 503, requestId: 'req-stale' });
    expect(result.body).not.toContain(JSON_CANARY);
    expect(lines.join('\n')).toContain('secret backend failed; serving the cached value');
    expect(lines.join('\n')).not.toContain(JSON_CANARY);
    failing = false;
    expect(await tokenLength(handler)).toBe(JSON_CANARY.length);
    expect(calls).toBeGreaterThanOrEqual(4);
  });
});
