/**
 * `sovereign doctor`'s findings, in order: this machine's Node, the project and its config, the
 * secret files' modes, then the target's own checks (`Target.doctor`). A project whose config
 * does not load gets only the first three: the target's checks need its config.
 */
import type { CommandContext } from '../commands/types.js';
import { DEFAULT_LAMBDA_RUNTIME } from '../templates/lambda-runtime.js';
import type { Project } from '../project.js';
import type { DoctorCheck, DoctorOptions } from './check.js';
import { configCheck, keyModesCheck, nodeCheck } from './checks.js';

export interface DoctorReport {
  /** No check failed (warnings allowed). */
  ok: boolean;
  counts: { ok: number; warn: number; fail: number };
  checks: DoctorCheck[];
  /** Checks that were not run, and why (the target's, when the config does not load). */
  skipped: string | null;
}

export async function runDoctor(ctx: Pick<CommandContext, 'project' | 'target' | 'globals'>, options: DoctorOptions): Promise<DoctorReport> {
  let project: Project | undefined;
  let projectError: unknown;
  try {
    project = ctx.project();
  } catch (error) {
    projectError = error;
  }
  const runtime = project ? (await import('../config.js')).awsConfigOf(project.config).lambdaRuntime : DEFAULT_LAMBDA_RUNTIME;
  const checks = [nodeCheck(process.version, runtime), configCheck(project, projectError), keyModesCheck(ctx.globals.cwd)];
  if (project) checks.push(...(await ctx.target().doctor(options)));
  const count = (status: DoctorCheck['status']) => checks.filter((c) => c.status === status).length;
  const counts = { ok: count('ok'), warn: count('warn'), fail: count('fail') };
  const skipped = project ? null : "the target's own checks, which need a config that loads";
  return { ok: counts.fail === 0, counts, checks, skipped };
}
