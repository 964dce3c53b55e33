import type { CommandModule } from './types.js';

/** A command of the table: found by its path, loaded only when it runs. */
export interface CommandEntry {
  path: [string] | [string, string] | [string, string, string];
  summary: string;
  /** The command file: its default export is the declared command. */
  load: () => Promise<{ default: CommandModule }>;
}

/** Groups of verbs and what they are about. */
export const GROUPS: Record<string, string> = {
  tenant: 'Create, deploy, inspect and destroy tenants',
  ext: 'Scaffold, check, list and enable extensions',
  audit: 'The hash-chained audit log and signed evidence bundles',
  template: 'The CloudFormation templates tenants are deployed with',
  verify: 'Prove properties of the deployed fleet',
  secrets: 'Secret references, values, rotation and rollback (values never printed)',
  auth: 'Who may call tenant APIs: dev tokens for local tenants',
  cells: 'The aws accounts and regions tenants are placed in',
};

/** Groups inside a group (`tenant keys`), by their two-word path, and what they are about. */
export const SUBGROUPS: Record<string, string> = {
  'tenant keys': 'API keys of a tenant\'s machine clients: shown once, stored hashed, scoped, revocable',
};

/**
 * Every command. Each entry's module is imported only when that command runs, so `--help` and
 * quick commands load almost nothing.
 */
export const COMMANDS: CommandEntry[] = [
  { path: ['init'], summary: 'Create a sovereign project in a folder', load: () => import('./init.js') },
  { path: ['tenant', 'create'], summary: 'Provision a tenant', load: () => import('./tenant/create.js') },
  { path: ['tenant', 'list'], summary: 'List tenants', load: () => import('./tenant/list.js') },
  { path: ['tenant', 'deploy'], summary: 'Build and deploy tenants: one, several or the whole fleet in waves', load: () => import('./tenant/deploy.js') },
  { path: ['tenant', 'diff'], summary: 'Show what a deploy would change (--exit-code: 6 on changes)', load: () => import('./tenant/diff.js') },
  { path: ['tenant', 'show'], summary: 'Show one tenant\'s record', load: () => import('./tenant/show.js') },
  { path: ['tenant', 'destroy'], summary: 'Destroy a tenant and its state', load: () => import('./tenant/destroy.js') },
  { path: ['tenant', 'suspend'], summary: 'Suspend a tenant: extension routes answer 403 within about a second, data untouched', load: () => import('./tenant/suspend.js') },
  { path: ['tenant', 'resume'], summary: 'Resume a suspended tenant', load: () => import('./tenant/resume.js') },
  { path: ['tenant', 'status'], summary: 'Health, requests, errors, latency and secret-cache hit rate of one tenant', load: () => import('./tenant/status.js') },
  { path: ['tenant', 'run'], summary: 'Run one schedule of a tenant now, with the event its schedule sends', load: () => import('./tenant/run.js') },
  { path: ['tenant', 'logs'], summary: 'A tenant\'s runtime log lines, readable and filterable (--follow)', load: () => import('./tenant/logs.js') },
  { path: ['tenant', 'offboard'], summary: 'Export data and audit bundle, destroy, and sign a deletion certificate', load: () => import('./tenant/offboard.js') },
  { path: ['tenant', 'certificate-verify'], summary: 'Check a deletion certificate and the files it names', load: () => import('./tenant/certificate-verify.js') },
  { path: ['tenant', 'billing'], summary: 'Show or set the billing customer whose events drive a tenant', load: () => import('./tenant/billing.js') },
  { path: ['tenant', 'keys', 'create'], summary: 'Create an API key for a machine client; the key is printed once', load: () => import('./tenant/keys/create.js') },
  { path: ['tenant', 'keys', 'list'], summary: 'List a tenant\'s API keys: name, scopes, created, last used, expiry (never the key)', load: () => import('./tenant/keys/list.js') },
  { path: ['tenant', 'keys', 'revoke'], summary: 'Revoke an API key: runtimes refuse it within about a second', load: () => import('./tenant/keys/revoke.js') },
  { path: ['ext', 'new'], summary: 'Scaffold a new extension that passes its test at once', load: () => import('./ext/new.js') },
  { path: ['ext', 'list'], summary: 'List extensions: version, routes, secrets and the tenants that enable them', load: () => import('./ext/list.js') },
  { path: ['ext', 'validate'], summary: 'Check manifests, handlers, route collisions, permissions and secret use', load: () => import('./ext/validate.js') },
  { path: ['ext', 'enable'], summary: 'Enable an extension for a tenant', load: () => import('./ext/enable.js') },
  { path: ['ext', 'disable'], summary: 'Disable an extension for a tenant', load: () => import('./ext/disable.js') },
  { path: ['secrets', 'set'], summary: 'Map an extension\'s secret key to a reference, validated on write', load: () => import('./secrets/set.js') },
  { path: ['secrets', 'put'], summary: 'Store a value behind a reference (stdin, file or --generate; never argv)', load: () => import('./secrets/put.js') },
  { path: ['secrets', 'list'], summary: 'List a tenant\'s references, versions and rotation metadata (never values)', load: () => import('./secrets/list.js') },
  { path: ['secrets', 'check'], summary: 'Resolve every reference of a tenant: ok, missing, denied, key missing', load: () => import('./secrets/check.js') },
  { path: ['secrets', 'history'], summary: 'Versions and staging labels of one secret key', load: () => import('./secrets/history.js') },
  { path: ['secrets', 'rotate'], summary: 'Rotate a secret (AWSPENDING → AWSCURRENT) and notify the running tenant', load: () => import('./secrets/rotate.js') },
  { path: ['secrets', 'notify'], summary: 'Send the running tenant a signed rotation notice (Standard Webhooks)', load: () => import('./secrets/notify.js') },
  { path: ['secrets', 'rollback'], summary: 'Move AWSCURRENT back to the AWSPREVIOUS version', load: () => import('./secrets/rollback.js') },
  { path: ['template', 'render'], summary: 'Print a tenant\'s rendered CloudFormation template', load: () => import('./template/render.js') },
  { path: ['audit', 'log'], summary: 'Read or verify the audit log', load: () => import('./audit/log.js') },
  { path: ['audit', 'export'], summary: 'Write a tenant\'s signed evidence bundle for auditors', load: () => import('./audit/export.js') },
  { path: ['audit', 'verify'], summary: 'Check an evidence bundle: hashes, signature and event chain', load: () => import('./audit/verify.js') },
  { path: ['bootstrap'], summary: 'Create or update the aws control plane of a stage', load: () => import('./bootstrap.js') },
  { path: ['verify', 'isolation'], summary: 'Prove no tenant policy reaches another tenant\'s resources', load: () => import('./verify/isolation.js') },
  { path: ['auth', 'token'], summary: 'Mint a dev issuer token for a local tenant (printed alone on stdout)', load: () => import('./auth/token.js') },
  { path: ['dev'], summary: 'Run every tenant as its own process behind a local gateway', load: () => import('./dev.js') },
  { path: ['cells', 'list'], summary: 'Each cell\'s tenants and utilisation against its quotas (counted in the cell)', load: () => import('./cells/list.js') },
  { path: ['completion'], summary: 'Print the shell completion script for bash, zsh or fish', load: () => import('./completion.js') },
  { path: ['doctor'], summary: 'Check this machine and project: Node, config, lock, key modes, journal, *.localhost, port, AWS account', load: () => import('./doctor.js') },
  { path: ['top'], summary: 'Live dashboard of every tenant: state, requests, errors, latency, secret cache', load: () => import('./top.js') },
];
