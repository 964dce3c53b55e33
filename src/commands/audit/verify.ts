import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readPinnedKey } from '../../audit/signing.js';
import { verifyBundle } from '../../audit/verify.js';
import { ExitCode, notFound, UserError } from '../../errors.js';
import { arg, defineCommand, option, optionalText, text } from '../define.js';

export default defineCommand({
  examples: [
    'sovereign audit verify acme-audit-20260101T000000Z.tar.gz',
    'sovereign audit verify acme.tar.gz --key .sovereign/keys/_signing.pub',
    'sovereign audit verify acme.tar.gz --key MCowBQYDK2VwAyEA... --json',
  ],
  arguments: { bundle: arg('<bundle>', 'the .tar.gz written by `sovereign audit export`', text) },
  options: { key: option('--key <pub>', 'require this signer: a public key file (PEM) or its base64', optionalText) },
  async run(ctx, { bundle, key }) {
    const path = resolve(ctx.globals.cwd, bundle);
    if (!existsSync(path)) throw notFound(`${bundle} does not exist`, 'pass the path of a bundle written by `sovereign audit export`');
    const pinnedKey = key === undefined ? undefined : readPinnedKey(key, ctx.globals.cwd);
    const report = await verifyBundle(path, pinnedKey === undefined ? {} : { pinnedKey });
    ctx.out.result(report, () =>
      report.checks.map((c) => `${c.ok ? ctx.out.paint('green', 'ok  ') : ctx.out.paint('red', 'FAIL')}  ${c.check}: ${c.detail}`).join('\n') +
        (report.ok ? `\nBundle verified: ${report.checks.length} checks passed.` : ''),
    );
    if (!report.ok) {
      throw new UserError(`bundle verification failed: ${report.failure}`, {
        hint: 'the bundle is not what its signer produced; obtain a fresh copy from the exporter',
        exitCode: ExitCode.failed,
      });
    }
  },
});
