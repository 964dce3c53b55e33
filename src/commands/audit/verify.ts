import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { embeddedKeyWarning, projectTrustedKeys, resolveSignerTrust, TRUST_BUNDLE_KEY_FLAG, unpinnedSigner } from '../../audit/trust.js';
import { verifyBundle } from '../../audit/verify.js';
import { ExitCode, notFound, UserError } from '../../errors.js';
import { arg, defineCommand, flag, option, optionalText, text } from '../define.js';

export default defineCommand({
  examples: [
    'sovereign audit verify acme-audit-20260101T000000Z.tar.gz --key .sovereign/keys/_signing.pub',
    'sovereign audit verify acme.tar.gz --key MCowBQYDK2VwAyEA... --json',
    'sovereign audit verify acme.tar.gz   # trusts the keys in audit.trustedKeys of sovereign.config.json',
    `sovereign audit verify acme.tar.gz ${TRUST_BUNDLE_KEY_FLAG}   # accepts whichever key signed it, with a warning`,
  ],
  arguments: { bundle: arg('<bundle>', 'the .tar.gz written by `sovereign audit export`', text) },
  options: {
    key: option('--key <pub>', 'require this signer: a public key file (PEM) or its base64 (default: audit.trustedKeys of the project)', optionalText),
    trustBundleKey: flag(TRUST_BUNDLE_KEY_FLAG, 'trust the signer key inside the bundle instead of a pinned one (prints a warning)'),
  },
  async run(ctx, { bundle, key, trustBundleKey }) {
    const path = resolve(ctx.globals.cwd, bundle);
    if (!existsSync(path)) throw notFound(`${bundle} does not exist`, 'pass the path of a bundle written by `sovereign audit export`');
    const trust = resolveSignerTrust({ cwd: ctx.globals.cwd, trustBundleKey, project: await projectTrustedKeys(ctx.globals.cwd), ...(key === undefined ? {} : { key }) });
    const report = await verifyBundle(path, trust.mode === 'pinned' ? { pinnedKeys: trust.keys.map((k) => k.publicKey), requirePinned: true } : {});
    if (trust.mode === 'embedded' && report.signer) ctx.out.warn(embeddedKeyWarning('bundle', report.signer.fingerprint));
    ctx.out.result(report, () =>
      report.checks.map((c) => `${c.ok ? ctx.out.paint('green', 'ok  ') : ctx.out.paint('red', 'FAIL')}  ${c.check}: ${c.detail}`).join('\n') +
        (report.ok ? `\nBundle verified: ${report.checks.length} checks passed, signer ${report.signer?.fingerprint ?? '-'}${trust.mode === 'embedded' ? ' (the key inside the bundle, not pinned)' : ''}.` : ''),
    );
    if (!report.ok) {
      if (report.checks.at(-1)?.check === 'signer' && report.signer && trust.mode === 'pinned') throw unpinnedSigner('the bundle', report.signer.fingerprint, trust);
      throw new UserError(`bundle verification failed: ${report.failure}`, {
        hint: 'the bundle is not what its signer produced; obtain a fresh copy from the exporter',
        exitCode: ExitCode.failed,
      });
    }
  },
});
