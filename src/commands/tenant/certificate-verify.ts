import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readPinnedKey } from '../../audit/signing.js';
import { ExitCode, notFound, UserError } from '../../errors.js';
import { verifyCertificateFile } from '../../lifecycle/verify-certificate.js';
import { arg, defineCommand, option, optionalText, text } from '../define.js';

export default defineCommand({
  examples: [
    'sovereign tenant certificate-verify retention/acme/acme-deletion-certificate.json',
    'sovereign tenant certificate-verify acme-deletion-certificate.json --key .sovereign/keys/_signing.pub --json',
  ],
  arguments: { file: arg('<file>', 'a deletion certificate', text) },
  options: { key: option('--key <public-key>', 'require this signer (PEM file or base64 SPKI)', optionalText) },
  async run(ctx, { file, key }) {
    const path = resolve(ctx.globals.cwd, file);
    if (!existsSync(path)) throw notFound(`${path} does not exist`);
    const pinned = key === undefined ? undefined : readPinnedKey(key, ctx.globals.cwd);
    const result = verifyCertificateFile(path, pinned ? { pinnedKey: pinned } : {});
    ctx.out.result(result, () =>
      [
        `${result.ok ? 'Verified' : 'FAILED'} ${path}`,
        `  tenant     ${result.tenant ?? '-'}`,
        `  deleted    ${result.deletedAt ?? '-'} by ${result.deletedBy ?? '-'}`,
        `  signer     ${result.signer ?? '-'}`,
        ...result.retained.map((r) => `  ${r.file}: ${r.status === 'ok' ? 'matches' : r.status === 'absent' ? 'not beside the certificate (not checked)' : 'CHANGED'}`),
        ...result.problems.map((p) => `  problem: ${p}`),
      ].join('\n'),
    );
    if (!result.ok) throw new UserError(`the deletion certificate does not verify: ${result.problems[0] ?? 'unknown problem'}`, { exitCode: ExitCode.failed });
  },
});
