/**
 * Fleet deploy of 10,000 tenants over 6 cells (2 regions × 3 accounts, uneven sizes) at
 * concurrency 20 per cell, through the real planner (grouped by cell) and runner. Each cell has a
 * simulated CloudFormation of its own, as bench/fleet.js simulates one: stacks of 48–72 s, 150 ms
 * per call, a CreateChangeSet token bucket and 2 % random throttling, since CloudFormation's
 * limits are per account and region. Time is scaled 1,000× (1 s → 1 ms).
 *
 * Target: the whole fleet within 1.2× the ideal of the slowest cell (its tenants ÷ 20 × mean stack
 * time). Measured in the same run: the slowest cell deployed alone, so the ratio against it shows
 * what running the other five cells beside it costs. Medians of FLEET_CELLS_RUNS runs (default 3).
 *
 * Run alone: `npm run build && node bench/fleet-cells.js`.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFleet, mulberry32, simulatedCloudFormation } from './fleet.js';

const SCALE = 1000; // as bench/fleet.js
const STACK_MEAN_S = 60;
const CONCURRENCY = 20;
const RUNS = Number(process.env.FLEET_CELLS_RUNS ?? 3);
// 2 regions × 3 accounts; 10,000 tenants, unevenly placed.
const CELLS = [
  ['eu-west-1-a', 2600],
  ['eu-west-1-b', 2100],
  ['eu-west-1-c', 1100],
  ['us-east-1-a', 1900],
  ['us-east-1-b', 1500],
  ['us-east-1-c', 800],
];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** One fleet deploy of `cells` (each with its own simulated CloudFormation); wall time and stats. */
async function deployCells({ planFleetDeploy, runFleet }, cells, seed) {
  const cellOf = new Map();
  const simulations = new Map();
  cells.forEach(([cell, size], i) => {
    for (let t = 0; t < size; t++) cellOf.set(`${cell}-t${String(t).padStart(4, '0')}`, cell);
    simulations.set(cell, simulatedCloudFormation(mulberry32(seed * 31 + i)));
  });
  const plan = planFleetDeploy({ known: [...cellOf.keys()], all: true, groupOf: (id) => cellOf.get(id) });
  let retries = 0;
  const random = mulberry32(seed);
  const started = performance.now();
  const report = await runFleet({
    plan,
    concurrency: CONCURRENCY,
    deployOne: (tenant) => simulations.get(cellOf.get(tenant)).deployOne(),
    retry: { attempts: 6, baseDelayMs: 1000 / SCALE, maxDelayMs: 20000 / SCALE },
    random,
    onEvent: (event) => {
      if (event.type === 'retry') retries += 1;
    },
  });
  const wallMs = performance.now() - started;
  const stats = [...simulations.values()].reduce((sum, s) => ({ calls: sum.calls + s.stats.calls, throttled: sum.throttled + s.stats.throttled }), { calls: 0, throttled: 0 });
  return { wallMs, report, retries, ...stats, groups: plan.groups.length };
}

export async function runFleetCellsBench() {
  const fleet = await loadFleet();
  const slowest = CELLS.reduce((a, b) => (b[1] > a[1] ? b : a));
  const idealMs = (slowest[1] / CONCURRENCY) * STACK_MEAN_S * (1000 / SCALE);
  const alone = [];
  const together = [];
  // Interleaved, so both see the same machine load.
  for (let run = 0; run < RUNS; run++) {
    alone.push(await deployCells(fleet, [slowest], 7 + run));
    together.push(await deployCells(fleet, CELLS, 7 + run));
  }
  const aloneMs = median(alone.map((r) => r.wallMs));
  const togetherMs = median(together.map((r) => r.wallMs));
  const last = together.at(-1);
  const simulated = (ms) => `${((ms * SCALE) / 60000).toFixed(1)} min`;
  const ratio = togetherMs / idealMs;
  const total = CELLS.reduce((sum, [, size]) => sum + size, 0);
  return [
    `## Fleet deploy across cells: ${total.toLocaleString('en')} tenants in 6 cells, concurrency 20 per cell`,
    '',
    `Cells (2 regions × 3 accounts): ${CELLS.map(([name, size]) => `${name} ${size}`).join(', ')}. Each cell its own simulated CloudFormation as in bench/fleet.js (stacks 48–72 s, 150 ms per call, CreateChangeSet token bucket, 2 % random throttling); time scaled ${SCALE}×. Medians of ${RUNS} interleaved runs; the ideal is the slowest cell's tenants ÷ 20 × 60 s.`,
    '',
    '| run | tenants | ok | failed | API calls | throttled | retries | wall time | × ideal | × slowest cell alone | target ≤ 1.2× ideal |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    `| slowest cell alone (${slowest[0]}) | ${slowest[1]} | ${alone.at(-1).report.ok} | ${alone.at(-1).report.failed} | ${alone.at(-1).calls} | ${alone.at(-1).throttled} | ${alone.at(-1).retries} | ${simulated(aloneMs)} (${aloneMs.toFixed(0)} ms) | ${(aloneMs / idealMs).toFixed(3)}× | 1.000× | |`,
    `| all 6 cells side by side | ${total} | ${last.report.ok} | ${last.report.failed} | ${last.calls} | ${last.throttled} | ${last.retries} | ${simulated(togetherMs)} (${togetherMs.toFixed(0)} ms) | ${ratio.toFixed(3)}× | ${(togetherMs / aloneMs).toFixed(3)}× | ${ratio <= 1.2 && last.report.failed === 0 ? 'met' : 'missed'} |`,
    '',
    `Ideal ${simulated(idealMs)} (${idealMs.toFixed(0)} ms); one pool of 20 for the whole fleet would need at least ${simulated((total / CONCURRENCY) * STACK_MEAN_S * (1000 / SCALE))}.`,
    '',
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${await runFleetCellsBench()}\n`);
}
