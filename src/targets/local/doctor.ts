/**
 * The local target's checks for `sovereign doctor`: the project lock and the commit journal in
 * `.sovereign/`, and what `sovereign dev` needs of this machine (`*.localhost` resolving to
 * loopback, its port free). Everything here only reads: a stale lock or a leftover journal is
 * reported, never recovered (recovery runs under the lock, in the next mutating command, where
 * the journal's confinement is checked before anything is applied).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { createServer } from 'node:net';
import { ok, problem, type DoctorCheck, type DoctorOptions } from '../../doctor/check.js';
import type { Project } from '../../project.js';
import { runningDevState } from './dev/state-file.js';
import { inspectJournal } from './journal.js';
import { inspectLock } from './lock.js';

/** The name the check resolves: any `<tenant>.localhost` resolves as every other. */
const PROBE_NAME = 'x.localhost';

export function lockCheck(project: Project): DoctorCheck {
  const lock = inspectLock(project.paths.lock);
  switch (lock.state) {
    case 'free':
      return ok('lock', 'no command holds the project lock');
    case 'held':
      return ok('lock', `held by \`${lock.holder.command}\` (pid ${lock.holder.pid}, running since ${lock.holder.startedAt})`);
    case 'stale':
      return problem('lock', 'warn', `the lock was left by \`${lock.holder.command}\` (pid ${lock.holder.pid}, since ${lock.holder.startedAt}), which is no longer running`, 'nothing to delete: the next command that changes state recovers it', 'lock');
    case 'foreign':
      return problem('lock', 'warn', `held by \`${lock.holder.command}\` (pid ${lock.holder.pid}) on another host, ${lock.holder.host}: whether it still runs cannot be told from here`, `wait for it, or stop it on ${lock.holder.host}; a copied .sovereign/ should not carry a lock`, 'lock');
    case 'unreadable':
      return problem('lock', 'warn', `${project.paths.lock} cannot be read: being written right now, or torn by a crash`, 'run doctor again; a torn lock is recovered by the next command that changes state', 'lock');
  }
}

export function journalCheck(project: Project): DoctorCheck {
  const journal = inspectJournal(project.paths.journal, project.paths.state);
  if (journal.state === 'none') return ok('journal', 'no interrupted commit');
  // A running command's own journal is no leftover.
  if (inspectLock(project.paths.lock).state === 'held') return ok('journal', 'a commit is in progress under the lock');
  switch (journal.state) {
    case 'pending':
      return problem('journal', 'warn', `a commit journal was left by an interrupted command (audit seq ${journal.seq}, ${journal.steps} file change(s))`, 'nothing to delete: the next command that changes state finishes it if its audit event was written, and rolls it back if not', 'journal');
    case 'unreadable':
      return problem('journal', 'warn', `${project.paths.journal} is not a readable journal (torn by a crash)`, 'the next command that changes state removes it; nothing it names was applied', 'journal');
    case 'refused':
      return problem('journal', 'fail', journal.message, journal.hint ?? `inspect ${project.paths.journal}, then remove it if it is not yours`, 'journal');
  }
}

type Lookup = (name: string) => Promise<Array<{ address: string; family: number }>>;
const systemLookup: Lookup = (name) => dnsLookup(name, { all: true });

function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./i.test(address);
}

export async function localhostCheck(lookup: Lookup = systemLookup): Promise<DoctorCheck> {
  const fix = 'use the path form, which needs no name resolution: http://localhost:<port>/t/<tenant>/…';
  let addresses: Array<{ address: string }>;
  try {
    addresses = await lookup(PROBE_NAME);
  } catch (error) {
    return problem('localhost', 'warn', `${PROBE_NAME} does not resolve on this machine (${(error as NodeJS.ErrnoException).code ?? String(error)})`, fix, 'localhost');
  }
  const outside = addresses.filter((a) => !isLoopback(a.address));
  if (addresses.length === 0 || outside.length > 0) {
    return problem('localhost', 'warn', `${PROBE_NAME} resolves to ${addresses.map((a) => a.address).join(', ') || 'nothing'}, not only to loopback`, fix, 'localhost');
  }
  return ok('localhost', `*.localhost resolves to loopback (${addresses.map((a) => a.address).join(', ')}): http://<tenant>.localhost works`);
}

/** Whether `sovereign dev` could bind its gateway's port (on 127.0.0.1, as it does). */
export async function portCheck(project: Project, options: DoctorOptions): Promise<DoctorCheck> {
  const port = options.port ?? project.config.dev.port;
  if (port === 0) return ok('port', 'dev picks a free port (--port 0)');
  const refused = await new Promise<NodeJS.ErrnoException | undefined>((done) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => done(error));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => done(undefined)));
  });
  if (!refused) return ok('port', `port ${port} on 127.0.0.1 is free for sovereign dev`);
  if (refused.code === 'EADDRINUSE') {
    const dev = runningDevState(project.paths.devState);
    if (dev && dev.port === port) return ok('port', `port ${port} is this project's running sovereign dev (pid ${dev.pid})`);
    return problem('port', 'fail', `port ${port} on 127.0.0.1 is already in use by another process`, `stop that process (ss -ltnp 'sport = :${port}' names it), or pick another port with --port <n> (--port 0 picks a free one)`, 'port');
  }
  if (refused.code === 'EACCES') return problem('port', 'fail', `port ${port} needs privileges this user does not have`, 'use a port above 1023 with --port <n>', 'port');
  return problem('port', 'fail', `port ${port} on 127.0.0.1 cannot be bound (${refused.code ?? refused.message})`, 'pick another port with --port <n>', 'port');
}

export async function localDoctor(project: Project, options: DoctorOptions): Promise<DoctorCheck[]> {
  return [lockCheck(project), journalCheck(project), await localhostCheck(), await portCheck(project, options)];
}
