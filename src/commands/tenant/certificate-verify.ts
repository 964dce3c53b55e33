import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { embeddedKeyWarning, projectTrustedKeys, resolveSignerTrust, TRUST_BUNDLE_KEY_FLAG, unpinnedSigner } from '../../audit/trust.js';
import { ExitCode, notFound, UserError } from '../../errors.js';
import { verifyCertificateFile } from '../../lifecycle/verify-certificate.js';
import { arg, defineCommand, flag, option, optionalText, text } from '../define.js';

export default defineCommand({
  examples: [
    'sovereign tenant certificate-verify retention/acme/acme-deletion-certificate.json   # trusts audit.trustedKeys',
    'sovereign tenant certificate-verify acme-deletion-certificate.json --key .sovereign/keys/_signing.pub --json',
    `sovereign tenant certificate-verify acme-deletion-certificate.json ${TRUST_BUNDLE_KEY_FLAG}`,
  ],
  arguments: { file: arg('<file>', 'a deletion certificate', text) },
  options: {
    key: option('--key <public-key>', 'require this signer (PEM file or base64 SPKI; default: audit.trustedKeys of the project)', optionalText),
    trustBundleKey: flag(TRUST_BUNDLE_KEY_FLAG, 'trust the signer key inside the certificate instead of a pinned one (prints a warning)'),
  },
  async run(ctx, { file, key, trustBundleKey }) {
    const path = resolve(ctx.globals.cwd, file);
    if (!existsSync(path)) throw notFound(`${path} does not exist`);
    const trust = resolveSignerTrust({ cwd: ctx.globals.cwd, trustBundleKey, project: await projectTrustedKeys(ctx.globals.cwd), ...(key === undefined ? {} : { key }) });
    const result = verifyCertificateFile(path, trust.mode === 'pinned' ? { pinnedKeys: trust.keys.map((k) => k.publicKey) } : {});
    const unpinned = trust.mode === 'pinned' && result.signer !== null && (trust.keys.length === 0 || result.problems.includes('signed by another key than the pinned one'));
    if (trust.mode === 'embedded' && result.signer) ctx.out.warn(embeddedKeyWarning('certificate', result.signer));
    ctx.out.result({ ...result, ok: result.ok && !unpinned, pinned: trust.mode === 'pinned' }, () =>
      [
        `${result.ok && !unpinned ? 'Verified' : 'FAILED'} ${path}`,
        `  tenant     ${result.tenant ?? '-'}`,
        `  deleted    ${result.deletedAt ?? '-'} by ${result.deletedBy ?? '-'}`,
        `  signer     ${result.signer ?? '-'}${trust.mode === 'embedded' ? ' (the key inside the certificate, not pinned)' : unpinned ? ' (not pinned)' : ' (pinned)'}`,
        ...result.retained.map((r) => `  ${r.file}: ${r.status === 'ok' ? 'matches' : r.status === 'absent' ? 'not beside the certificate (not checked)' : 'CHANGED'}`),
        ...result.problems.map((p) => `  problem: ${p}`),
      ].join('\n'),
    );
    const otherProblems = result.problems.filter((p) => p !== 'signed by another key than the pinned one');
    if (otherProblems.length > 0) throw new UserError(`the deletion certificate does not verify: ${otherProblems[0]}`, { exitCode: ExitCode.failed });
    if (unpinned && trust.mode === 'pinned') throw unpinnedSigner('the certificate', result.signer!, trust);
  },
});
