// Runs every benchmark section and writes bench/RESULTS.md with the date and machine.
// `npm run bench` (after `npm run build`); BENCH_ONLY=foundation,runtime runs a subset.
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { fileURLToPath } from 'node:url';

const sections = [
  ['foundation', './foundation.js', 'runFoundationBench'],
  ['secrets', './secrets.js', 'runSecretsBench'],
  ['runtime', './runtime.js', 'runRuntimeBench'],
  ['dev', './dev.js', 'runDevBench'],
  ['dev-lambda', './dev-lambda.js', 'runDevLambdaBench'],
  ['dev-build', './dev-build.js', 'runDevBuildBench'],
  ['auth-gateway', './auth-gateway.js', 'runAuthGatewayBench'],
  ['sync', './sync.js', 'runSyncBench'],
  ['artifact', './artifact.js', 'runArtifactBench'],
  ['fleet', './fleet.js', 'runFleetBench'],
  ['fleet-aws', './fleet-aws.js', 'runFleetAwsBench'],
  ['audit', './audit.js', 'runAuditBench'],
  ['redesign', './redesign.js', 'runRedesignBench'],
  ['api-keys', './api-keys.js', 'runApiKeysBench'],
  ['tenant-api', './tenant-api.js', 'runTenantApiBench'],
  ['data-plane', './data-plane.js', 'runDataPlaneBench'],
  ['schedules', './schedules.js', 'runSchedulesBench'],
  ['dev-console', './dev-console.js', 'runDevConsoleBench'],
  ['completion', './completion.js', 'runCompletionBench'],
];

const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined;
const cpu = cpus();
const machine = `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${release()}, Node ${process.version}`;
const parts = [`# Benchmark results`, '', `Run on ${new Date().toISOString().slice(0, 10)} with \`npm run bench\` on ${machine}.`, ''];
let failed = 0;
for (const [name, file, fn] of sections) {
  if (only && !only.has(name)) continue;
  const url = new URL(file, import.meta.url);
  if (!existsSync(fileURLToPath(url))) continue;
  process.stderr.write(`bench: ${name}…\n`);
  try {
    const mod = await import(url.href);
    parts.push(await mod[fn]());
  } catch (error) {
    failed += 1;
    parts.push(`## ${name}\n\nFailed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
const out = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
writeFileSync(out, `${parts.join('\n')}\n`);
process.stderr.write(`bench: wrote ${out}\n`);
process.exitCode = failed ? 1 : 0;
