/**
 * `sovereign audit log --verify`: the hash chain, then the chain against its signed checkpoints.
 *
 * The chain check (`verifyLog`) finds edited, deleted, inserted or reordered events. The
 * checkpoints find what a writer who recomputes hashes can do without the key:
 * - truncation: the log ends before the latest checkpoint's seq (at any event boundary, since
 *   every mutation writes its checkpoint with its event);
 * - a rewritten tail: an event whose hash is not the one a checkpoint signed (the history names
 *   the first checkpoint that no longer matches, and so the first rewritten seq);
 * - an append without the key: events after the latest checkpoint.
 * A checkpoint counts only when a trusted key signed it. The log and the history are streamed:
 * memory does not grow with the log.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { Project } from '../project.js';
import { verifyLog, type AuditEvent, type VerifyResult } from '../state/audit-log.js';
import { checkpointSignedBy, keyFingerprint, parseCheckpoint, type Checkpoint } from './checkpoint.js';
import { checkpointPaths, readCheckpointHistory, readLatestCheckpoint } from './checkpoint-files.js';
import { signingKeyPaths } from './signing.js';
import { readPublicKey } from './trust.js';

export type TrailProblemKind = 'chain' | 'torn' | 'unanchored' | 'untrusted-checkpoint' | 'truncated' | 'rewritten' | 'unsigned-append';

export interface TrailVerification extends VerifyResult {
  /** The latest checkpoint, when present and signed by a trusted key. */
  checkpoint: { seq: number; count: number; time: string; signer: string } | null;
  /** The newest checkpoint that is signed by a trusted key and still matches the log. */
  lastTrusted: { seq: number; time: string } | null;
  /** What kind of problem `problem` is. */
  kind?: TrailProblemKind;
  /** The first seq that cannot be trusted. */
  firstBadSeq?: number;
  /** A checkpoint staged by an interrupted command (the next command completes it). */
  pending?: { seq: number };
}

export interface TrailOptions {
  logPath: string;
  /** Keys a checkpoint may be signed by. */
  trustedKeys: KeyObject[];
  /** The local journal: a crash between an append and its commit leaves the checkpoint there. */
  journalPath?: string;
}

/** `seq 7` or `seqs 7–9`. */
const seqs = (from: number, to: number) => (from === to ? `seq ${from}` : `seqs ${from}–${to}`);

const summary = (c: Checkpoint) => ({ seq: c.seq, count: c.count, time: c.time, signer: c.signer });

/** The checkpoint an interrupted commit staged for `seq`, if the journal holds one. */
function stagedCheckpoint(journalPath: string | undefined, latestPath: string, seq: number): Checkpoint | undefined {
  if (!journalPath || !existsSync(journalPath)) return undefined;
  try {
    const entry = JSON.parse(readFileSync(journalPath, 'utf8')) as { seq: number; steps: Array<{ kind: string; path: string; temp?: string }> };
    const step = entry.steps.find((s) => s.kind === 'write' && s.path === latestPath);
    if (entry.seq !== seq || !step?.temp || !existsSync(step.temp)) return undefined;
    return parseCheckpoint(readFileSync(step.temp, 'utf8'));
  } catch {
    return undefined;
  }
}

export async function verifyTrail(options: TrailOptions): Promise<TrailVerification> {
  const paths = checkpointPaths(options.logPath);
  const trusted = new Map(options.trustedKeys.map((key) => [keyFingerprint(key), key]));
  const isTrusted = (c: Checkpoint) => {
    const key = trusted.get(c.signer);
    return key !== undefined && checkpointSignedBy(c, key);
  };
  const latestRead = readLatestCheckpoint(paths.latest);
  const latest = latestRead.state === 'present' ? latestRead.checkpoint : undefined;

  // One pass over the log: the chain, and each event against the history's checkpoint at its seq.
  const history = readCheckpointHistory(paths.history);
  let next = await history.next();
  let lastMatch: Checkpoint | undefined;
  let mismatch: Checkpoint | undefined;
  let latestHash: string | undefined;
  const compare = (event: AuditEvent) => {
    if (!next.done && next.value.seq === event.seq) {
      if (next.value.headHash === event.hash) lastMatch = next.value;
      else mismatch = next.value;
    }
  };
  const chain = await verifyLog(options.logPath, (event: AuditEvent) => {
    if (event.seq === latest?.seq) latestHash = event.hash;
    if (mismatch) return undefined;
    if (next.done || next.value.seq > event.seq) return undefined;
    if (next.value.seq === event.seq) return compare(event);
    // The history is behind this event: read on to it (only then is there anything to await).
    return (async () => {
      while (!next.done && next.value.seq < event.seq) next = await history.next();
      compare(event);
    })();
  });
  await history.return(undefined);

  // The newest checkpoint that still matches the log and that a trusted key signed (a history
  // line counts only once its signature is checked).
  const latestHolds = latest !== undefined && latestHash === latest.headHash && isTrusted(latest);
  const lastTrustedCheckpoint = latestHolds ? latest : lastMatch && isTrusted(lastMatch) ? lastMatch : undefined;
  const result: TrailVerification = {
    ...chain,
    checkpoint: latest && isTrusted(latest) ? summary(latest) : null,
    lastTrusted: lastTrustedCheckpoint ? { seq: lastTrustedCheckpoint.seq, time: lastTrustedCheckpoint.time } : null,
  };
  const fail = (kind: TrailProblemKind, firstBadSeq: number | undefined, message: string): TrailVerification => {
    result.ok = false;
    result.kind = kind;
    if (firstBadSeq !== undefined) result.firstBadSeq = firstBadSeq;
    result.problem = { seq: firstBadSeq ?? null, line: firstBadSeq ?? 0, message };
    return result;
  };
  const trustedSince = () => (result.lastTrusted ? `the last trusted checkpoint is seq ${result.lastTrusted.seq} (${result.lastTrusted.time})` : 'no checkpoint still matches the log');

  if (chain.problem && !chain.tornTail) {
    result.kind = 'chain';
    result.firstBadSeq = chain.problem.seq ?? chain.lastSeq + 1;
    result.problem = { ...chain.problem, message: `${chain.problem.message}; ${trustedSince()}` };
    return result;
  }
  if (latestRead.state === 'malformed') return fail('untrusted-checkpoint', undefined, `${paths.latest} is not a checkpoint; ${trustedSince()}`);
  if (!latest) {
    if (chain.events === 0) return result;
    return fail('unanchored', 1, `the log has ${chain.events} events but no signed checkpoint (${paths.latest} is missing)`);
  }
  if (!isTrusted(latest)) {
    return fail('untrusted-checkpoint', latest.seq, `the latest checkpoint (seq ${latest.seq}) is not signed by a trusted key (it names ${latest.signer}); ${trustedSince()}`);
  }
  if (mismatch && !isTrusted(mismatch)) {
    return fail('untrusted-checkpoint', mismatch.seq, `${paths.history} holds a checkpoint for seq ${mismatch.seq} that no trusted key signed (the history was edited); ${trustedSince()}`);
  }
  if (mismatch) {
    const from = (lastMatch?.seq ?? 0) + 1;
    const where = from === mismatch.seq ? `seq ${mismatch.seq}` : `a seq from ${from} to ${mismatch.seq}`;
    return fail('rewritten', from, `the log was rewritten at ${where}: the event at seq ${mismatch.seq} is not the one checkpoint seq ${mismatch.seq} signed; ${trustedSince()}`);
  }
  if (chain.lastSeq < latest.seq) {
    return fail('truncated', chain.lastSeq + 1, `the log was truncated: it ends at seq ${chain.lastSeq}, but checkpoint seq ${latest.seq} (${latest.time}) proves ${latest.count} events existed; ${seqs(chain.lastSeq + 1, latest.seq)} ${chain.lastSeq + 1 === latest.seq ? 'is' : 'are'} missing; ${trustedSince()}`);
  }
  if (latestHash !== latest.headHash) {
    const from = (lastMatch?.seq ?? 0) + 1;
    return fail('rewritten', from, `the log was rewritten at a seq from ${from} to ${latest.seq}: the event at seq ${latest.seq} is not the one the latest checkpoint signed; ${trustedSince()}`);
  }
  if (chain.lastSeq > latest.seq) {
    const staged = chain.lastSeq === latest.seq + 1 ? stagedCheckpoint(options.journalPath, paths.latest, chain.lastSeq) : undefined;
    if (staged && isTrusted(staged) && staged.headHash === chain.lastHash) {
      result.pending = { seq: staged.seq };
      return result;
    }
    return fail('unsigned-append', latest.seq + 1, `${seqs(latest.seq + 1, chain.lastSeq)} ${latest.seq + 1 === chain.lastSeq ? 'was' : 'were'} appended after the latest checkpoint (seq ${latest.seq}) without the checkpoint key; ${trustedSince()}`);
  }
  return result;
}

/**
 * The keys local checkpoints may be signed by: the project's `audit.trustedKeys` when it pins
 * any, otherwise the project's own signing key (`.sovereign/keys/_signing.pub`).
 */
export function localCheckpointKeys(project: Project): KeyObject[] {
  const configured = project.config.audit?.trustedKeys ?? [];
  if (configured.length > 0) return configured.map((value, i) => readPublicKey(value, project.root, `audit.trustedKeys[${i}]`, { allowEc: true }));
  const paths = signingKeyPaths(project.paths.keys);
  if (existsSync(paths.privateKey)) return [createPublicKey(createPrivateKey(readFileSync(paths.privateKey)))];
  if (existsSync(paths.publicKey)) return [createPublicKey(readFileSync(paths.publicKey))];
  return [];
}
