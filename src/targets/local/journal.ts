import { existsSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { ExitCode, UserError } from '../../errors.js';
import { fsyncDirectory, writeFileAtomic, writeTempFile } from '../../fs/atomic.js';
import { readTail } from '../../state/audit-log.js';
import type { FileChange } from '../../state/store.js';

export type { FileChange };

interface JournalEntry {
  /** The seq the audit event of this mutation gets: the mutation happened iff the log has it. */
  seq: number;
  steps: Array<{ kind: 'write'; path: string; temp: string } | { kind: 'remove'; path: string }>;
}

/**
 * Stages file changes so that they and their audit event land together or not at all.
 * Data goes to fsynced temporary files, a journal names them and the seq of the audit event,
 * the event is appended, then the temporary files are renamed into place. After a crash,
 * `recoverJournal` finishes the job if the event made it into the log and undoes it otherwise.
 */
export function stageChanges(journalPath: string, seq: number, changes: FileChange[]): JournalEntry {
  const steps: JournalEntry['steps'] = [];
  try {
    for (const change of changes) {
      if (change.kind === 'write') steps.push({ kind: 'write', path: change.path, temp: writeTempFile(change.path, change.data, { mode: change.mode }) });
      else steps.push({ kind: 'remove', path: change.path });
    }
    const entry: JournalEntry = { seq, steps };
    writeFileAtomic(journalPath, JSON.stringify(entry));
    return entry;
  } catch (error) {
    discardTemps(steps);
    throw error;
  }
}

function discardTemps(steps: JournalEntry['steps']): void {
  for (const step of steps) if (step.kind === 'write' && existsSync(step.temp)) unlinkSync(step.temp);
}

/** Applies a staged entry (idempotent: safe to run again after a crash half-way). */
export function applyChanges(journalPath: string, entry: JournalEntry): void {
  const dirs = new Set<string>();
  for (const step of entry.steps) {
    if (step.kind === 'write') {
      if (existsSync(step.temp)) renameSync(step.temp, step.path);
    } else {
      rmSync(step.path, { recursive: true, force: true });
    }
    dirs.add(dirname(step.path));
  }
  for (const dir of dirs) if (existsSync(dir)) fsyncDirectory(dir);
  if (existsSync(journalPath)) unlinkSync(journalPath);
}

/** Drops a staged entry whose audit event was never written. */
export function abandonChanges(journalPath: string, entry: JournalEntry): void {
  discardTemps(entry.steps);
  if (existsSync(journalPath)) unlinkSync(journalPath);
}

/**
 * Whether the process that is writing a temporary file (its pid is in the name, see
 * `tempPathFor`) is still running: a vault written outside the project lock is left alone.
 */
function writerAlive(name: string): boolean {
  const pid = Number(/-(\d+)-[0-9a-f]{8}$/.exec(name)?.[1]);
  if (!pid || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The real path of `path`: its deepest existing ancestor resolved through symlinks, the rest
 * appended. A file that does not exist yet is judged by the folder it would land in.
 */
function realPathOf(path: string): string {
  const rest: string[] = [];
  let current = resolve(path);
  for (;;) {
    try {
      return join(realpathSync(current), ...rest.reverse());
    } catch {
      const parent = dirname(current);
      if (parent === current) return join(current, ...rest.reverse());
      rest.push(basename(current));
      current = parent;
    }
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Refuses a journal that names anything outside the project's state folder (through `..`, an
 * absolute path or a symlink): whoever can write `.sovereign/` must not get writes, renames or
 * deletions elsewhere through recovery. The journal is left in place for inspection.
 */
function assertConfined(entry: JournalEntry, journalPath: string, stateRoot: string): void {
  const root = realPathOf(stateRoot);
  const steps = Array.isArray(entry.steps) ? entry.steps : [];
  const paths = steps.flatMap((step) => (step.kind === 'write' ? [step.path, step.temp] : [step.path]));
  const outside = paths.find((path) => typeof path !== 'string' || !inside(root, realPathOf(path)));
  if (Array.isArray(entry.steps) && outside === undefined) return;
  throw new UserError(`the journal ${journalPath} names ${typeof outside === 'string' ? `"${outside}", outside the project's state folder` : 'an invalid step'}; it was not applied`, {
    exitCode: ExitCode.failed,
    hint: `recovery only touches files inside ${stateRoot}; inspect the journal, then remove it if it is not yours`,
  });
}

/** A journal left in the state folder, as `sovereign doctor` reports it (read only: nothing is applied). */
export type JournalInspection =
  | { state: 'none' }
  | { state: 'pending'; seq: number; steps: number }
  | { state: 'unreadable' }
  /** It names something outside the state folder: recovery refuses it (see `assertConfined`). */
  | { state: 'refused'; message: string; hint: string | undefined };

export function inspectJournal(journalPath: string, stateRoot: string): JournalInspection {
  if (!existsSync(journalPath)) return { state: 'none' };
  let entry: JournalEntry;
  try {
    entry = JSON.parse(readFileSync(journalPath, 'utf8')) as JournalEntry;
  } catch {
    return { state: 'unreadable' };
  }
  if (typeof entry !== 'object' || entry === null) return { state: 'unreadable' };
  try {
    assertConfined(entry, journalPath, stateRoot);
  } catch (error) {
    if (error instanceof UserError) return { state: 'refused', message: error.message, hint: error.hint };
    throw error;
  }
  return { state: 'pending', seq: Number(entry.seq), steps: entry.steps.length };
}

/**
 * Finishes or undoes a mutation interrupted by a crash, then removes temporary files no journal
 * names. Call with the project lock held. Returns what it did, for a warning.
 */
export function recoverJournal(journalPath: string, auditLogPath: string, stateRoot: string, stateDirs: string[]): string | undefined {
  let outcome: string | undefined;
  if (existsSync(journalPath)) {
    let entry: JournalEntry | undefined;
    try {
      entry = JSON.parse(readFileSync(journalPath, 'utf8')) as JournalEntry;
    } catch {
      entry = undefined;
    }
    if (entry) assertConfined(entry, journalPath, stateRoot);
    if (!entry) {
      unlinkSync(journalPath);
      outcome = 'removed an unreadable journal left by an interrupted command';
    } else {
      const last = readTail(auditLogPath).last;
      if (last && last.seq >= entry.seq) {
        applyChanges(journalPath, entry);
        outcome = `completed an interrupted command (audit seq ${entry.seq})`;
      } else {
        abandonChanges(journalPath, entry);
        outcome = 'rolled back an interrupted command that had not been recorded';
      }
    }
  }
  for (const dir of stateDirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (name.startsWith('.tmp-') && !writerAlive(name)) rmSync(join(dir, name), { force: true });
  }
  return outcome;
}
