/**
 * What the `dev` gateway's JWT authorizer costs per request, through the real CLI (`sovereign dev
 * --no-throttle`, one premium tenant in its own process), in the same run:
 * - a public route (no verification: the baseline),
 * - a non-public route with a token verified moments ago (the gateway's bounded cache),
 * - a non-public route with a token never seen before (a full RS256 verification each time),
 * each as the median per-request time of a keep-alive client sending one request at a time, in
 * interleaved rounds (median of the rounds' medians), and as the gateway process's CPU time per
 * request (from /proc: robust to the other load on the machine). Then the gateway's verification
 * alone and `jose`'s `jwtVerify` (its peer) in this process, on distinct tokens, as the median
 * time per call.
 *
 * Target: a JWT verification at the gateway ≤ 100 µs median.
 *
 * Run alone: `npm run build && node bench/auth-gateway.js` (BENCH_AUTH_ROUNDS=3 for a quick run).
 */
import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpuMicros, makeProject, startDev } from './dev.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.BENCH_AUTH_ROUNDS ?? 5);
const PER_ROUND = 1000;
const FRESH_PER_ROUND = 500;
const VERIFY_CALLS = 2000;

const EXTENSION = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({ name: 'who', version: '1.0.0', description: 'bench', routes: [
  { method: 'GET', path: '/open', handler: 'who', auth: 'public' },
  { method: 'GET', path: '/me', handler: 'who' },
] });
`;
const HANDLER = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (_request, ctx) => ({ tenant: ctx.tenant.id }));
`;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (v, digits = 0) => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Sends the requests one at a time over one keep-alive connection; returns each one's µs. */
async function timed(port, path, headersFor, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const status = await new Promise((resolvePromise, reject) => {
      const call = request({ host: '127.0.0.1', port, path, agent, headers: headersFor(i) }, (answer) => {
        answer.resume();
        answer.on('end', () => resolvePromise(answer.statusCode));
      });
      call.on('error', reject);
      call.end();
    });
    if (status !== 200) throw new Error(`${path} answered ${status}`);
    times.push((performance.now() - started) * 1000);
  }
  agent.destroy();
  return times;
}

export async function runAuthGatewayBench() {
  const { dir, project, cleanup } = await makeProject({ prefix: 'sovereign-bench-auth-', extension: { name: 'who', manifest: EXTENSION, handlers: { who: HANDLER } }, tenants: [['alpha', 'premium']] });
  const { loadOrCreateDevIssuerKey, mintDevToken, devJwks } = await import(pathToFileURL(join(repo, 'dist', 'auth', 'dev-issuer.js')).href);
  const { createLocalJWKSet, jwtVerify } = await import('jose');
  let dev;
  try {
    dev = await startDev(dir, ['--no-throttle']);
    const key = loadOrCreateDevIssuerKey(join(dir, '.sovereign', 'keys'));
    const mint = (subject) => mintDevToken(key, { project, stage: 'dev', tenant: 'alpha', subject });
    const cached = await mint('cached');
    const fresh = [];
    for (let i = 0; i < FRESH_PER_ROUND * (2 * ROUNDS + 2); i++) fresh.push(await mint(`fresh-${i}`));
    let next = 0;
    const conditions = {
      public: { path: '/t/alpha/who/open', headers: () => ({}) },
      // The same bytes on the wire and in the event as a fresh token, without a verification.
      publicWithToken: { path: '/t/alpha/who/open', headers: () => ({ authorization: `Bearer ${fresh[next++]}` }) },
      cached: { path: '/t/alpha/who/me', headers: () => ({ authorization: `Bearer ${cached}` }) },
      fresh: { path: '/t/alpha/who/me', headers: () => ({ authorization: `Bearer ${fresh[next++]}` }) },
    };
    // Warm-up (JIT, the token cache, the tenant's connection).
    await timed(dev.port, conditions.public.path, conditions.public.headers, 500);
    await timed(dev.port, conditions.cached.path, conditions.cached.headers, 500);
    await timed(dev.port, conditions.fresh.path, conditions.fresh.headers, FRESH_PER_ROUND);
    await timed(dev.port, conditions.publicWithToken.path, conditions.publicWithToken.headers, FRESH_PER_ROUND);
    const medians = { public: [], publicWithToken: [], cached: [], fresh: [] };
    const cpu = { public: [], publicWithToken: [], cached: [], fresh: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, condition] of Object.entries(conditions)) {
        const count = name === 'fresh' || name === 'publicWithToken' ? FRESH_PER_ROUND : PER_ROUND;
        const before = cpuMicros(dev.pid);
        const times = await timed(dev.port, condition.path, condition.headers, count);
        const after = cpuMicros(dev.pid);
        medians[name].push(median(times));
        if (before !== undefined && after !== undefined) cpu[name].push((after - before) / count);
      }
    }

    // The gateway's verification on its own (JwtAuthorizer.authorize: jose's JWKS set finds the
    // key, fast-jwt checks the signature on this thread) and jose's jwtVerify (WebCrypto) as its
    // peer, interleaved on distinct tokens so nothing is remembered between calls.
    const { JwtAuthorizer, issuerKeys } = await import(pathToFileURL(join(repo, 'dist', 'targets', 'local', 'dev', 'authorizer.js')).href);
    const { resolveTenantAuth, devIssuer } = await import(pathToFileURL(join(repo, 'dist', 'contract', 'auth.js')).href);
    const devJwksSet = await devJwks(key);
    const jwks = createLocalJWKSet(devJwksSet);
    const issuer = devIssuer(project, 'dev');
    const options = { algorithms: ['RS256', 'RS384', 'RS512'], issuer, audience: 'sovereign', requiredClaims: ['exp'] };
    const authorizer = new JwtAuthorizer({ keys: await issuerKeys({ dev: { isDevIssuer: (i) => i === issuer, jwks: devJwksSet }, jwksUri: () => undefined }) });
    const tenantAuth = resolveTenantAuth(undefined, 'alpha', issuer);
    const rule = { auth: 'required', scopes: [] };
    const tokens = [];
    for (let i = 0; i < 2 * VERIFY_CALLS + 400; i++) tokens.push(await mint(`verify-${i}`));
    for (let i = 0; i < 200; i++) {
      await jwtVerify(tokens[i], jwks, options);
      const decision = await authorizer.authorize(tenantAuth, rule, { authorization: `Bearer ${tokens[200 + i]}` });
      if (decision.kind !== 'pass') throw new Error(`the authorizer refused a dev token: ${JSON.stringify(decision)}`);
    }
    const verifyTimes = [];
    const authorizeTimes = [];
    for (let i = 400; i < tokens.length; i += 2) {
      let started = performance.now();
      await jwtVerify(tokens[i], jwks, options);
      verifyTimes.push((performance.now() - started) * 1000);
      started = performance.now();
      await authorizer.authorize(tenantAuth, rule, { authorization: `Bearer ${tokens[i + 1]}` });
      authorizeTimes.push((performance.now() - started) * 1000);
    }

    const m = Object.fromEntries(Object.entries(medians).map(([name, values]) => [name, median(values)]));
    const c = Object.fromEntries(Object.entries(cpu).map(([name, values]) => [name, values.length ? median(values) : undefined]));
    const us = (v) => (v === undefined ? 'n/a' : `${fmt(v)} µs`);
    const verify = median(verifyTimes);
    const authorize = median(authorizeTimes);
    const lines = [
      '## Tenant identity: the dev gateway\'s JWT authorizer',
      '',
      `Run on ${new Date().toISOString().slice(0, 10)} with \`node bench/auth-gateway.js\` on ${cpus().length} cores (\`nproc\`), Node ${process.version}. The real \`sovereign dev --no-throttle\`, one premium tenant; a keep-alive client sends one request at a time; ${ROUNDS} interleaved rounds of ${PER_ROUND} requests (${FRESH_PER_ROUND} with fresh tokens), the median of the rounds' medians. Gateway CPU per request from /proc over each batch.`,
      '',
      '| request | median per request | vs public route | gateway CPU per request |',
      '|---|---|---|---|',
      `| public route (no verification) | ${us(m.public)} | — | ${us(c.public)} |`,
      `| public route, carrying a token it does not verify (the same bytes as the next rows) | ${us(m.publicWithToken)} | ${fmt(m.publicWithToken - m.public)} µs | ${us(c.publicWithToken)} |`,
      `| non-public route, token verified moments ago (cached by its text) | ${us(m.cached)} | ${fmt(m.cached - m.public)} µs | ${us(c.cached)} |`,
      `| non-public route, a token never seen (RS256 verified) | ${us(m.fresh)} | ${fmt(m.fresh - m.public)} µs | ${us(c.fresh)} |`,
      `| the gateway's verification alone (\`JwtAuthorizer.authorize\`: jose's JWKS set, fast-jwt's RS256 check), ${VERIFY_CALLS} distinct tokens | ${us(authorize)} per call | | |`,
      `| \`jose\` \`jwtVerify\` alone (RS256, 2048-bit, local JWKS, WebCrypto), the same number, interleaved | ${us(verify)} per call | | |`,
      '',
      `Target: a JWT verification at the gateway ≤ 100 µs median. A fresh token adds ${fmt(m.fresh - m.publicWithToken)} µs over the same request to a public route (${m.fresh - m.publicWithToken <= 100 ? 'met' : 'not met'}; ${fmt(m.fresh - m.public)} µs over a public request without the header), a cached one ${fmt(m.cached - m.publicWithToken)} µs; the verification alone takes ${fmt(authorize)} µs (${authorize <= 100 ? 'met' : 'not met'}), jose's \`jwtVerify\` ${fmt(verify)} µs (${fmt(verify / authorize)}× it).`,
      '',
    ];
    return lines.join('\n');
  } finally {
    await dev?.stop();
    cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${await runAuthGatewayBench()}\n`);
}
