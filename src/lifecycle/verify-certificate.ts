/** `tenant certificate-verify`: the certificate's own checks plus the retained files beside it. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sha256, verifyCertificateBytes } from './certificate.js';

export interface CertificateVerification {
  ok: boolean;
  file: string;
  tenant: string | null;
  deletedAt: string | null;
  deletedBy: string | null;
  signer: string | null;
  problems: string[];
  /** Each retained file found beside the certificate: matches its recorded SHA-256, or not there. */
  retained: Array<{ file: string; status: 'ok' | 'changed' | 'absent' }>;
}

export function verifyCertificateFile(file: string, options: { pinnedKey?: string; pinnedKeys?: string[] } = {}): CertificateVerification {
  const check = verifyCertificateBytes(readFileSync(file), options);
  const c = check.certificate;
  const retained: CertificateVerification['retained'] = [];
  const problems = [...check.problems];
  if (c?.retained) {
    for (const entry of [c.retained.dataExport, c.retained.auditBundle]) {
      if (!entry?.file) continue;
      const path = join(dirname(file), entry.file);
      if (!existsSync(path)) retained.push({ file: entry.file, status: 'absent' });
      else if (sha256(readFileSync(path)) === entry.sha256) retained.push({ file: entry.file, status: 'ok' });
      else {
        retained.push({ file: entry.file, status: 'changed' });
        problems.push(`${entry.file} does not match the SHA-256 in the certificate`);
      }
    }
  }
  return {
    ok: problems.length === 0,
    file,
    tenant: c?.tenant ?? null,
    deletedAt: c?.deletedAt ?? null,
    deletedBy: c?.deletedBy ?? null,
    signer: check.fingerprint ?? null,
    problems,
    retained,
  };
}
