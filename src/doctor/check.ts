/**
 * One finding of `sovereign doctor`: what was checked, what was found, and, when it is not ok,
 * the one thing to do about it with the troubleshooting section that explains it. The checks
 * only read: doctor changes nothing it inspects (a stale lock or a leftover journal is reported,
 * not recovered; recovery is the next mutating command's job, under the lock).
 */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  /** Stable name for `--json` readers: `node`, `config`, `lock`, `key-modes`, `aws-credentials`… */
  id: string;
  status: CheckStatus;
  /** One line: what was found (`Node v24.1.0 runs sovereign; tenants deploy on nodejs24.x`). */
  detail: string;
  /** One line: what to do (set unless ok). */
  fix?: string;
  /** The section of docs/troubleshooting.md that explains it (`docs/troubleshooting.md#…`). */
  docs?: string;
}

/** What the target's own checks take from `sovereign doctor`. */
export interface DoctorOptions {
  /** `--port`: the port `sovereign dev` would serve on (default: the config's `dev.port`). */
  port: number | undefined;
}

/** A section of docs/troubleshooting.md by its heading's anchor. */
export function troubleshooting(anchor: string): string {
  return `docs/troubleshooting.md#${anchor}`;
}

/** The anchors the checks link to; test/doctor.e2e.test.ts keeps each one a heading of the page. */
export const SECTIONS = {
  doctor: 'sovereign-doctor',
  port: 'error-port-4000-on-127001-is-already-in-use-by-another-process-exit-4',
  localhost: 'curl-httpacmelocalhost4000-does-not-connect',
  lock: 'error-the-project-is-locked-by-tenant-deploy-pid--exit-4',
  aws: 'error-no-aws-region-is-set-exit-2--error-no-usable-aws-credentials-exit-5',
  node: 'a-deprecated-lambda-runtime-or-tenants-on-another-node-than-lambdas',
  config: 'the-config-does-not-validate',
  keyModes: 'key-files-readable-by-others',
  journal: 'a-leftover-commit-journal',
} as const;

export function ok(id: string, detail: string): DoctorCheck {
  return { id, status: 'ok', detail };
}

export function problem(id: string, status: 'warn' | 'fail', detail: string, fix: string, section: keyof typeof SECTIONS): DoctorCheck {
  return { id, status, detail, fix, docs: troubleshooting(SECTIONS[section]) };
}
