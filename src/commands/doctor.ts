import { ExitCode } from '../errors.js';
import { defineCommand, option, optional } from './define.js';
import { port } from './dev.js';

export default defineCommand({
  examples: ['sovereign doctor', 'sovereign doctor --port 4100', 'sovereign doctor --target aws --profile ci --json'],
  description: 'Check this machine and project: each check ok, warn or fail with one fix; exit 1 when one fails',
  help: '\nChecks: Node against the deployed runtime, the project and its config, key file modes, and the target\'s own\n(local: the lock holder, a leftover commit journal, *.localhost resolution, the dev port; aws: region, credentials and account).\nDoctor only reads: a stale lock or journal is reported, and recovered by the next command that changes state.\n',
  options: { port: option('--port <n>', 'the port `sovereign dev` would serve on (default: dev.port of the config, 4000)', optional(port)) },
  diagnoses: true,
  async run(ctx, { port }) {
    const { runDoctor } = await import('../doctor/run.js');
    const report = await runDoctor(ctx, { port });
    const colour = { ok: 'green', warn: 'yellow', fail: 'red' } as const;
    ctx.out.result(report, () => {
      const width = Math.max(...report.checks.map((c) => c.id.length));
      const lines = report.checks.flatMap((c) => [
        `${ctx.out.paint(colour[c.status], c.status.padEnd(4))}  ${c.id.padEnd(width)}  ${c.detail}`,
        ...(c.fix ? [`${' '.repeat(width + 8)}fix: ${c.fix}${c.docs ? ` (see ${c.docs})` : ''}`] : []),
      ]);
      if (report.skipped) lines.push('', `Not run: ${report.skipped}.`);
      lines.push('', `${report.counts.ok} ok, ${report.counts.warn} warning(s), ${report.counts.fail} failed`);
      return lines.join('\n');
    });
    return report.ok ? undefined : ExitCode.failed;
  },
});
