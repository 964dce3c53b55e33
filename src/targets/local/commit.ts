/**
 * The local target's commit: a mutation's intents become file changes that are staged and
 * journaled before its audit event is appended and renamed into place after it (see `journal.ts`).
 * Loaded with the first mutation, so a command that only reads the registry loads none of it.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, isAbsolute, resolve } from 'node:path';
import { ExitCode, UserError } from '../../errors.js';
import { writeFileAtomic } from '../../fs/atomic.js';
import type { Project } from '../../project.js';
import { nextGeneration, serializeGenerationMarker } from '../../contract/generation.js';
import { webhookSecretReference } from '../../contract/names.js';
import { appendEvent, readTail, repairTornTail, type AppendHooks, type AuditEvent } from '../../state/audit-log.js';
import { checkpointBody, keyFingerprint, localCheckpointSigner, serializeCheckpoint, signCheckpointSync, type Checkpoint } from '../../audit/checkpoint.js';
import { appendCheckpointHistory, checkpointPaths, readLatestCheckpoint } from '../../audit/checkpoint-files.js';
import { loadOrCreateSigningKey } from '../../audit/signing.js';
import { readTenant, serializeTenant, tenantFile } from './registry.js';
import { mutationEvent, Transaction, type FileChange, type MutateOptions, type MutationInfo } from '../../state/store.js';
import { tenantKeyPath, tenantVaultPath } from './paths.js';
import { applyChanges, recoverJournal, stageChanges } from './journal.js';
import { acquireLock } from './lock.js';
import { generationPath, readGenerationFile } from './notify.js';
import type { MutationContext } from './state.js';

/**
 * The bytes of a new tenant's vault holding its webhook signing secret, built in a scratch
 * folder so they can land in the same commit as the tenant's record and key.
 */
async function seededVault(key: Buffer, id: string, stage: string, by: string): Promise<{ bytes: Buffer; generation: number }> {
  // The vault writer (node:crypto) loads only for a mutation that provisions a tenant.
  const [{ openWritableVault }, { generateWebhookSecret }] = await Promise.all([import('./vault-writer.js'), import('../../runtime/webhook.js')]);
  const scratch = mkdtempSync(join(tmpdir(), 'sovereign-vault-'));
  try {
    const path = join(scratch, `${id}.vault`);
    const vault = openWritableVault(path, key, id);
    vault.putVersion(webhookSecretReference(stage, id), generateWebhookSecret(), { by });
    return { bytes: readFileSync(path), generation: vault.generation };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Whether `path` lies inside `dir` (both resolved). */
function isInside(dir: string, path: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Every folder a commit stages temporary files in (each beside the file it replaces): the
 * registry, keys, vaults, the state folder itself, the billing ledger's, each tenant's data folder
 * (its generation marker) and each retention folder (certificates). Recovery removes the ones no
 * journal names.
 */
function stagingFolders(project: Project): string[] {
  const { paths } = project;
  const subfolders = (dir: string) => {
    try {
      return readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => join(dir, entry.name));
    } catch {
      return [];
    }
  };
  return [paths.tenants, paths.keys, paths.vault, paths.state, dirname(paths.auditLog), join(paths.state, 'billing'), ...subfolders(paths.data), ...subfolders(join(paths.state, 'retention'))];
}

/**
 * Runs `run` under the project lock, after recovering an interrupted commit, and commits what it
 * recorded with one audit event; a failure is audited too (bad input excepted) and changes nothing.
 */
export async function commitMutation<T>(project: Project, actor: string, running: MutationContext, info: MutationInfo, run: (tx: Transaction) => Promise<T> | T, options: MutateOptions): Promise<T> {
  const paths = project.paths;
  const lock = await acquireLock(paths.lock, { command: info.command });
  try {
    const recovered = recoverJournal(paths.journal, paths.auditLog, paths.state, stagingFolders(project));
    if (recovered) options.onRecovered?.(recovered);
    const anchor = openAnchor(project);
    const repair = repairTornTail(paths.auditLog, actor, info.command, anchor.hooks([]));
    if (repair) options.onRecovered?.(`the audit log had a torn last line (${String(repair.args.tornBytes)} bytes) from an interrupted command; cut off and recorded as seq ${repair.seq}`);
    const tx = new Transaction();
    let result: T;
    try {
      result = await running.run({ stateDir: paths.state, tx }, () => run(tx));
    } catch (error) {
      if (!(error instanceof UserError && error.exitCode === ExitCode.badInput)) record(project, actor, info, tx, anchor.hooks([]), error);
      throw error;
    }
    // Local state is guarded by the project lock and keeps its ledgers in files (`tx.write`).
    if (tx.guarded.length > 0) throw new Error(`local state does not store guarded items (${tx.guarded.map((g) => g.partition).join(', ')})`);
    if (tx.tenantItems.length > 0) throw new Error('local state has no tenant tables: tenant files are written with `tx.write`');
    const changes = await fileChanges(project, actor, tx);
    // Outputs the user asked for outside `.sovereign/` (a retention folder) are written first:
    // recovery touches only the project's own state.
    const inside = changes.filter((c) => isInside(paths.state, c.path));
    for (const output of changes.filter((c) => !isInside(paths.state, c.path))) {
      if (output.kind === 'write') writeFileAtomic(output.path, output.data, output.mode === undefined ? {} : { mode: output.mode });
      else rmSync(output.path, { recursive: true, force: true });
    }
    record(project, actor, info, tx, anchor.hooks(inside));
    return result;
  } finally {
    lock.release();
  }
}

/** The files a transaction's intents become, in the order they are staged. */
async function fileChanges(project: Project, actor: string, tx: Transaction): Promise<FileChange[]> {
  const paths = project.paths;
  const provisioning: FileChange[] = [];
  for (const [tenant, { stage }] of tx.provisioned) {
    const key = randomBytes(32);
    // Keys are readable by their owner only, and so is the folder that lists them.
    mkdirSync(paths.keys, { recursive: true, mode: 0o700 });
    chmodSync(paths.keys, 0o700);
    const vault = await seededVault(key, tenant, stage, actor);
    provisioning.push({ kind: 'write', path: tenantKeyPath(project, tenant), data: key, mode: 0o600 });
    provisioning.push({ kind: 'write', path: tenantVaultPath(project, tenant), data: vault.bytes, mode: 0o600 });
    tx.recordVaultGeneration(tenant, vault.generation);
  }
  recordVaultGenerations(paths.tenants, tx);
  const changes: FileChange[] = [...tx.tenants].map(([id, record]) =>
    record ? { kind: 'write', path: tenantFile(paths.tenants, id), data: serializeTenant(record) } : { kind: 'remove', path: tenantFile(paths.tenants, id) },
  );
  changes.push(...provisioning);
  for (const tenant of tx.unprovisioned) {
    changes.push({ kind: 'remove', path: tenantKeyPath(project, tenant) });
    changes.push({ kind: 'remove', path: tenantVaultPath(project, tenant) });
    changes.push({ kind: 'remove', path: join(paths.data, tenant) });
  }
  const now = new Date();
  for (const [tenant, { change, ticket, audit }] of tx.generations) {
    const path = generationPath(project, tenant);
    const marker = nextGeneration(readGenerationFile(path), { references: change.references, now, ...(change.suspended !== undefined ? { suspended: change.suspended } : {}) });
    changes.push({ kind: 'write', path, data: serializeGenerationMarker(marker) });
    ticket.generation = marker.generation;
    if (audit) tx.eventArgs.generation = marker.generation;
  }
  return [...changes, ...tx.changes];
}

/**
 * Each vault generation the commit writes goes into the tenant's record (outside the tenant
 * process's reach: it writes only its data folder) and into the audit event, with the vault.
 */
function recordVaultGenerations(tenantsDir: string, tx: Transaction): void {
  if (tx.vaultGenerations.size === 0) return;
  for (const [tenant, generation] of tx.vaultGenerations) {
    const record = tx.tenants.has(tenant) ? tx.tenants.get(tenant) : readTenant(tenantsDir, tenant);
    if (record) tx.tenants.set(tenant, { ...record, vaultGeneration: generation });
  }
  tx.eventArgs.vaultGenerations = Object.fromEntries(tx.vaultGenerations);
}

function record(project: Project, actor: string, info: MutationInfo, tx: Transaction, hooks: AppendHooks, error?: unknown): AuditEvent {
  return appendEvent(project.paths.auditLog, mutationEvent(actor, info, tx, error), hooks);
}

/**
 * The signed checkpoint of every event this commit appends. Each event's checkpoint is staged in
 * the same journal as the event's file changes and applied with them, so after a crash recovery
 * rolls both forward or neither: the latest checkpoint never lags the log nor runs ahead of it.
 * The history line is appended once the commit is applied (it may lag by one, by design).
 *
 * Before anything is signed the log must still end at the latest checkpoint: a log that was cut,
 * rewritten or appended to since would otherwise be signed over, and the forgery laundered. A
 * log with no checkpoint and no history (a project older than checkpoints) is anchored as it is.
 */
function openAnchor(project: Project): { hooks(changes: FileChange[]): AppendHooks } {
  const paths = project.paths;
  const files = checkpointPaths(paths.auditLog);
  mkdirSync(paths.keys, { recursive: true, mode: 0o700 });
  const key = loadOrCreateSigningKey(paths.keys);
  const signer = localCheckpointSigner(key.privateKey);
  const latest = readLatestCheckpoint(files.latest);
  const last = readTail(paths.auditLog).last;
  const refuse = (why: string) =>
    new UserError(`the audit log does not match its last signed checkpoint: ${why}; nothing was changed`, {
      hint: 'run `sovereign audit log --verify` to see where; restore .sovereign/audit/ from a backup and investigate',
      exitCode: ExitCode.failed,
    });
  if (latest.state === 'malformed') throw refuse(`${files.latest} is not a checkpoint`);
  if (latest.state === 'absent') {
    if (last && existsSync(files.history)) throw refuse(`${files.latest} is missing`);
  } else {
    const checkpoint = latest.checkpoint;
    if (checkpoint.signer !== keyFingerprint(signer.publicKey)) throw refuse(`checkpoint seq ${checkpoint.seq} is signed by ${checkpoint.signer}, not by the project key`);
    if (!last || last.seq !== checkpoint.seq || last.hash !== checkpoint.headHash) throw refuse(`the log ends at seq ${last?.seq ?? 0}, the checkpoint covers seq ${checkpoint.seq}`);
  }
  return {
    hooks(changes) {
      let entry: ReturnType<typeof stageChanges> | undefined;
      let checkpoint: Checkpoint | undefined;
      return {
        before(event) {
          checkpoint = signCheckpointSync(signer, checkpointBody(event, new Date().toISOString()));
          entry = stageChanges(paths.journal, event.seq, [...changes, { kind: 'write', path: files.latest, data: `${serializeCheckpoint(checkpoint)}\n` }]);
        },
        after() {
          applyChanges(paths.journal, entry!);
          appendCheckpointHistory(files.history, checkpoint!);
        },
      };
    },
  };
}
