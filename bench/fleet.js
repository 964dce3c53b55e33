/**
 * Fleet deploy of 1,000 tenants at concurrency 20 against a simulated CloudFormation: each stack
 * takes 48–72 s (mean 60 s), the API throttles bursts (token bucket) and a share of calls at
 * random, and throttled tenants are retried with backoff. Time is scaled 1,000× (1 s → 1 ms) so the
 * run takes seconds. Target: total within 1.2× the ideal (tenants ÷ concurrency × mean stack time).
 *
 * Run alone: `npm run build && node bench/fleet.js`.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TENANTS = 1000;
const CONCURRENCY = 20;
const SCALE = 1000; // simulated seconds per real second
const STACK_MIN_S = 48;
const STACK_MAX_S = 72;
const STACK_MEAN_S = (STACK_MIN_S + STACK_MAX_S) / 2;
const API_LATENCY_S = 0.15;
const BUCKET = { capacity: 10, refillPerSecond: 4 }; // CreateChangeSet calls
const RANDOM_THROTTLE = 0.02;

export async function loadFleet() {
  try {
    const plan = await import(pathToFileURL(join(repo, 'dist', 'fleet', 'plan.js')).href);
    const run = await import(pathToFileURL(join(repo, 'dist', 'fleet', 'run.js')).href);
    return { ...plan, ...run };
  } catch (error) {
    throw new Error(`the fleet benchmarks need the built package (npm run build): ${error.message}`);
  }
}

/** Deterministic PRNG so runs are comparable. */
export function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleepScaled = (seconds) => new Promise((r) => setTimeout(r, (seconds * 1000) / SCALE));

export function simulatedCloudFormation(random) {
  let tokens = BUCKET.capacity;
  let last = performance.now();
  const stats = { calls: 0, throttled: 0 };
  const take = () => {
    const now = performance.now();
    tokens = Math.min(BUCKET.capacity, tokens + ((now - last) / 1000) * SCALE * BUCKET.refillPerSecond);
    last = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
  const deployOne = async () => {
    stats.calls += 1;
    await sleepScaled(API_LATENCY_S);
    if (!take() || random() < RANDOM_THROTTLE) {
      stats.throttled += 1;
      throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
    }
    await sleepScaled(STACK_MIN_S + random() * (STACK_MAX_S - STACK_MIN_S));
    return 'UPDATE_COMPLETE';
  };
  return { deployOne, stats };
}

export async function runFleetBench() {
  const { planFleetDeploy, runFleet } = await loadFleet();
  const random = mulberry32(7);
  const known = Array.from({ length: TENANTS }, (_, i) => `tenant-${String(i).padStart(4, '0')}`);
  const plan = planFleetDeploy({ known, all: true });
  const cfn = simulatedCloudFormation(random);
  let retries = 0;
  const report = await runFleet({
    plan,
    concurrency: CONCURRENCY,
    deployOne: cfn.deployOne,
    // Real defaults are 1 s and 20 s; scaled like everything else.
    retry: { attempts: 6, baseDelayMs: (1000 * 1) / SCALE, maxDelayMs: (1000 * 20) / SCALE },
    random,
    onEvent: (event) => {
      if (event.type === 'retry') retries += 1;
    },
  });
  const idealMs = (TENANTS / CONCURRENCY) * STACK_MEAN_S * (1000 / SCALE);
  const ratio = report.durationMs / idealMs;
  const simulated = (msReal) => `${((msReal * SCALE) / 1000 / 60).toFixed(1)} min`;
  return [
    '## Fleet deploy: 1,000 tenants at concurrency 20 (simulated CloudFormation)',
    '',
    `Stack time ${STACK_MIN_S}–${STACK_MAX_S} s (mean ${STACK_MEAN_S} s), API latency ${API_LATENCY_S * 1000} ms, CreateChangeSet token bucket ${BUCKET.capacity} burst / ${BUCKET.refillPerSecond} per s, plus ${RANDOM_THROTTLE * 100}% random throttling; time scaled ${SCALE}× (figures below in simulated time, measured ms in brackets).`,
    '',
    '| tenants | ok | failed | API calls | throttled | retries | ideal | measured | ratio | target ≤ 1.2× |',
    '|---|---|---|---|---|---|---|---|---|---|',
    `| ${TENANTS} | ${report.ok} | ${report.failed} | ${cfn.stats.calls} | ${cfn.stats.throttled} | ${retries} | ${simulated(idealMs)} (${idealMs.toFixed(0)} ms) | ${simulated(report.durationMs)} (${report.durationMs} ms) | ${ratio.toFixed(3)}× | ${ratio <= 1.2 && report.failed === 0 ? 'met' : 'missed'} |`,
    '',
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runFleetBench().then((markdown) => process.stdout.write(`${markdown}\n`), (error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  });
}
