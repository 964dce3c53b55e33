/**
 * Secret references: the one parser, printer and syntax validator shared by the CLI and the
 * runtime. A tenant's configuration holds references, never values:
 *
 * ```
 * ssm:<parameter-name>                                  ssm:/prod/tenants/acme/avalara/account_id
 * secretsmanager:<secret-name>[:<json-key>[:<stage>]]   secretsmanager:prod/tenants/acme/avalara:license_key
 * ```
 *
 * The checks follow AWS's own naming rules for each service, plus the product's stricter ones:
 * no empty, `.` or `..` path segments, no wildcards, no ARNs. Problems name the offending
 * character and its 1-based position in the whole reference. Messages never repeat the input
 * itself (someone may paste a value where a reference belongs), only the offending character.
 *
 * Pure and dependency-free: it is bundled into every tenant runtime.
 */

/** The two secret stores a reference can point at. */
export type SecretService = 'ssm' | 'secretsmanager';

/** `ssm:<parameter-name>` — an SSM Parameter Store parameter (read with decryption). */
export interface SsmReference {
  service: 'ssm';
  /** The parameter name, e.g. `/prod/tenants/acme/avalara/account_id`. */
  name: string;
}

/** `secretsmanager:<secret-name>[:<json-key>[:<stage>]]` — a Secrets Manager secret. */
export interface SecretsManagerReference {
  service: 'secretsmanager';
  /** The secret name (not its ARN), e.g. `prod/tenants/acme/avalara`. */
  name: string;
  /** A top-level key of the secret's JSON value; absent means the whole value. */
  jsonKey?: string;
  /** Version stage label (`AWSCURRENT`, `AWSPREVIOUS` or a custom label); absent means `AWSCURRENT`. */
  versionStage?: string;
}

/** A parsed, syntactically valid reference. */
export type SecretReference = SsmReference | SecretsManagerReference;

/** Machine-readable kind of a syntax problem. */
export type ReferenceProblemCode =
  | 'empty'
  | 'too-long'
  | 'unknown-service'
  | 'arn'
  | 'wildcard'
  | 'bad-character'
  | 'empty-segment'
  | 'dot-segment'
  | 'not-absolute'
  | 'too-deep'
  | 'reserved-prefix'
  | 'reserved-suffix'
  | 'too-many-parts'
  | 'bad-json-key'
  | 'bad-version-stage';

/** Why a string is not a valid reference. */
export interface ReferenceProblem {
  code: ReferenceProblemCode;
  /** One line, e.g. `"*" at position 18: wildcards are not allowed in a reference`. */
  message: string;
  /** 1-based position (in Unicode code points) of the offending character, when there is one. */
  position?: number;
  /** What to do instead, when there is something useful to say. */
  hint?: string;
}

/** Result of {@link parseReference}: never throws. */
export type ParseReferenceResult =
  | { ok: true; reference: SecretReference }
  | { ok: false; problem: ReferenceProblem };

/** Thrown by {@link parseReferenceOrThrow}; carries the structured problem. */
export class ReferenceSyntaxError extends Error {
  readonly problem: ReferenceProblem;

  constructor(problem: ReferenceProblem) {
    super(`invalid secret reference: ${problem.message}`);
    this.name = 'ReferenceSyntaxError';
    this.problem = problem;
  }
}

/** Longest input looked at; anything longer is refused before scanning. */
export const MAX_REFERENCE_LENGTH = 4096;
/** AWS: an SSM parameter name is at most 2048 characters including its path. */
export const MAX_SSM_NAME_LENGTH = 2048;
/** AWS: a parameter hierarchy has at most 15 levels. */
export const MAX_SSM_LEVELS = 15;
/** AWS: a Secrets Manager secret name is 1–512 characters. */
export const MAX_SECRET_NAME_LENGTH = 512;
/** Longest JSON key and version stage accepted (AWS: a version stage is 1–256 characters). */
export const MAX_LABEL_LENGTH = 256;

const SSM_PREFIX = 'ssm:';
const SM_PREFIX = 'secretsmanager:';

// Character classes as lookup tables over ASCII: a reference is validated on every write and
// resolved on every request, so the scan avoids regular expressions and allocations.
function asciiTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (let code = 48; code <= 57; code++) table[code] = 1;
  for (let code = 65; code <= 90; code++) table[code] = 1;
  for (let code = 97; code <= 122; code++) table[code] = 1;
  for (const char of chars) table[char.charCodeAt(0)] = 1;
  return table;
}
/** SSM: `a-zA-Z0-9_.-` and `/` for hierarchies. */
const SSM_CHARS = asciiTable('_.-/');
/** Secrets Manager: `a-zA-Z0-9/_+=.@-`. */
const SM_CHARS = asciiTable('/_+=.@-');
/** JSON keys and version stages: `a-zA-Z0-9_.+=@-`. */
const LABEL_CHARS = asciiTable('_.+=@-');

/** How to show one character in a message without echoing anything else of the input. */
function describeCharacter(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (code === 0x20) return `a space (${hex})`;
  if (code < 0x20 || code === 0x7f) return `control character ${hex}`;
  if (code > 0x7e) return `"${char}" (${hex}, not ASCII)`;
  return `"${char}"`;
}

/** 1-based code-point position of UTF-16 index `index` in `input`. */
function positionOf(input: string, index: number): number {
  let position = 1;
  for (let i = 0; i < index; i++) {
    const code = input.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < index) i++;
    position++;
  }
  return position;
}

function fail(code: ReferenceProblemCode, message: string, position?: number, hint?: string): ParseReferenceResult {
  const located = position !== undefined && !message.includes('position') ? `${message} (position ${position})` : message;
  const problem: ReferenceProblem = { code, message: located };
  if (position !== undefined) problem.position = position;
  if (hint !== undefined) problem.hint = hint;
  return { ok: false, problem };
}

/** First character of `input[start, end)` outside `table`, as a problem; undefined when all pass. */
function scanCharacters(
  input: string,
  start: number,
  end: number,
  table: Uint8Array,
  what: string,
  allowed: string,
  badCode: ReferenceProblemCode = 'bad-character',
  extraHint?: (char: string) => string | undefined,
): ParseReferenceResult | undefined {
  for (let i = start; i < end; i++) {
    const code = input.charCodeAt(i);
    if (code < 128 && table[code] === 1) continue;
    const char = String.fromCodePoint(input.codePointAt(i) ?? code);
    const position = positionOf(input, i);
    if (char === '*' || char === '?') {
      return fail('wildcard', `${describeCharacter(char)} at position ${position}: wildcards are not allowed in a reference`, position,
        'name exactly one parameter or secret');
    }
    const message = `${describeCharacter(char)} at position ${position} is not allowed in ${what}`;
    let hint = extraHint?.(char);
    if (hint === undefined && code > 127) hint = 'names are ASCII only; a look-alike letter from another alphabet is refused';
    if (hint === undefined && char === '%') hint = 'percent-encoding is not decoded; write the name as it is';
    return fail(badCode, message, position, hint ?? `allowed: ${allowed}`);
  }
  return undefined;
}

/**
 * Checks the `/`-separated segments of `input[start, end)`: none empty, `.` or `..`.
 * `leadingSlash` allows (and skips) one `/` at `start`.
 */
function scanSegments(input: string, start: number, end: number, leadingSlash: boolean, what: string): ParseReferenceResult | undefined {
  let segmentStart = leadingSlash && input.charCodeAt(start) === 47 ? start + 1 : start;
  for (let i = segmentStart; i <= end; i++) {
    if (i < end && input.charCodeAt(i) !== 47) continue;
    const length = i - segmentStart;
    if (length === 0) {
      const position = positionOf(input, i < end ? i : i - 1);
      const where = i === end ? 'a trailing "/"' : i === start ? 'a leading "/"' : 'a doubled "/"';
      return fail('empty-segment', `empty path segment at position ${position} (${where}) in ${what}`, position,
        'write each path segment once, without leading, trailing or doubled slashes');
    }
    if ((length === 1 && input.charCodeAt(segmentStart) === 46)
      || (length === 2 && input.charCodeAt(segmentStart) === 46 && input.charCodeAt(segmentStart + 1) === 46)) {
      const position = positionOf(input, segmentStart);
      return fail('dot-segment', `"${input.slice(segmentStart, i)}" path segment at position ${position} in ${what}`, position,
        '"." and ".." segments are not resolved; write the path without them');
    }
    segmentStart = i + 1;
  }
  return undefined;
}

function parseSsm(input: string): ParseReferenceResult {
  const start = SSM_PREFIX.length;
  const end = input.length;
  const what = 'an SSM parameter name';
  if (end === start) return fail('empty', 'the SSM parameter name after "ssm:" is empty', start + 1, 'e.g. ssm:/dev/tenants/acme/avalara/account_id');
  const bad = scanCharacters(input, start, end, SSM_CHARS, what, 'a-z A-Z 0-9 _ . - and / between path segments', 'bad-character', (char) =>
    char === ':' ? 'an SSM reference is ssm:<parameter-name>; version and label selectors are not supported' : undefined);
  if (bad) return bad;
  const length = end - start;
  if (length > MAX_SSM_NAME_LENGTH) {
    return fail('too-long', `the SSM parameter name is ${length} characters; at most ${MAX_SSM_NAME_LENGTH} are allowed`, start + MAX_SSM_NAME_LENGTH + 1);
  }
  const absolute = input.charCodeAt(start) === 47;
  if (!absolute && input.indexOf('/', start) !== -1) {
    return fail('not-absolute', `an SSM parameter name with a path must start with "/" (position ${start + 1})`, start + 1,
      'write the fully qualified name, e.g. ssm:/dev/tenants/acme/avalara/account_id');
  }
  const segments = scanSegments(input, start, end, true, what);
  if (segments) return segments;
  let levels = 0;
  for (let i = start; i < end; i++) if (input.charCodeAt(i) === 47) levels++;
  if (!absolute) levels = 1;
  if (levels > MAX_SSM_LEVELS) {
    return fail('too-deep', `the SSM parameter name has ${levels} levels; at most ${MAX_SSM_LEVELS} are allowed`, undefined,
      'flatten the hierarchy');
  }
  const firstSegment = input.slice(absolute ? start + 1 : start, absolute ? start + 4 : start + 3).toLowerCase();
  if (firstSegment === 'aws' || firstSegment === 'ssm') {
    const position = absolute ? start + 2 : start + 1;
    return fail('reserved-prefix', `an SSM parameter name must not begin with "aws" or "ssm" (position ${position})`, position,
      'AWS reserves these prefixes (in any case) for its own parameters');
  }
  return { ok: true, reference: { service: 'ssm', name: input.slice(start) } };
}

/** Whether `input[start, end)` is only ASCII letters and digits (the shape of an ARN's random suffix). */
function isAlphanumericRun(input: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const code = input.charCodeAt(i);
    if (!((code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122))) return false;
  }
  return true;
}

/**
 * Secrets Manager names. AWS asks not to end a name with "-" and six characters because ARNs end
 * with "-" and six random letters or digits, and a partial ARN would then be ambiguous; that is
 * the shape refused here.
 */
function parseSecretsManager(input: string): ParseReferenceResult {
  const start = SM_PREFIX.length;
  const end = input.length;
  if (end === start) {
    return fail('empty', 'the secret name after "secretsmanager:" is empty', start + 1, 'e.g. secretsmanager:dev/tenants/acme/avalara:license_key');
  }
  const firstColon = input.indexOf(':', start);
  const nameEnd = firstColon === -1 ? end : firstColon;
  const secondColon = firstColon === -1 ? -1 : input.indexOf(':', firstColon + 1);
  const keyEnd = secondColon === -1 ? end : secondColon;
  const thirdColon = secondColon === -1 ? -1 : input.indexOf(':', secondColon + 1);
  if (thirdColon !== -1) {
    const position = positionOf(input, thirdColon);
    return fail('too-many-parts', `":" at position ${position}: a reference is secretsmanager:<secret-name>[:<json-key>[:<stage>]]`, position,
      'pin a version with a stage label, not a version id');
  }
  const what = 'a Secrets Manager secret name';
  if (nameEnd === start) return fail('empty', `the secret name is empty (position ${start + 1})`, start + 1);
  const bad = scanCharacters(input, start, nameEnd, SM_CHARS, what, 'a-z A-Z 0-9 / _ + = . @ -');
  if (bad) return bad;
  const nameLength = nameEnd - start;
  if (nameLength > MAX_SECRET_NAME_LENGTH) {
    return fail('too-long', `the secret name is ${nameLength} characters; at most ${MAX_SECRET_NAME_LENGTH} are allowed`, start + MAX_SECRET_NAME_LENGTH + 1);
  }
  const segments = scanSegments(input, start, nameEnd, false, what);
  if (segments) return segments;
  if (nameLength >= 7 && input.charCodeAt(nameEnd - 7) === 45 && isAlphanumericRun(input, nameEnd - 6, nameEnd)) {
    const position = nameEnd - 7 + 1;
    return fail('reserved-suffix', `the secret name ends with "-" and six letters or digits (position ${position})`, position,
      'AWS appends "-" and six random characters to secret ARNs; a name ending like that is ambiguous');
  }
  const reference: SecretsManagerReference = { service: 'secretsmanager', name: input.slice(start, nameEnd) };
  if (firstColon !== -1) {
    const keyStart = firstColon + 1;
    const stageGiven = secondColon !== -1;
    if (keyEnd === keyStart && !stageGiven) {
      const position = positionOf(input, firstColon);
      return fail('bad-json-key', `the JSON key after ":" at position ${position} is empty`, position,
        'leave out the ":" to reference the whole secret value');
    }
    if (keyEnd > keyStart) {
      if (keyEnd - keyStart > MAX_LABEL_LENGTH) return fail('bad-json-key', `the JSON key is longer than ${MAX_LABEL_LENGTH} characters`, positionOf(input, keyStart) + MAX_LABEL_LENGTH);
      const badKey = scanCharacters(input, keyStart, keyEnd, LABEL_CHARS, 'a JSON key', 'a-z A-Z 0-9 _ . + = @ -', 'bad-json-key');
      if (badKey) return badKey;
      reference.jsonKey = input.slice(keyStart, keyEnd);
    }
    if (stageGiven) {
      const stageStart = secondColon + 1;
      if (stageStart === end) {
        const position = positionOf(input, secondColon);
        return fail('bad-version-stage', `the version stage after ":" at position ${position} is empty`, position,
          'e.g. AWSCURRENT or AWSPREVIOUS, or leave out the ":"');
      }
      if (end - stageStart > MAX_LABEL_LENGTH) return fail('bad-version-stage', `the version stage is longer than ${MAX_LABEL_LENGTH} characters`, positionOf(input, stageStart) + MAX_LABEL_LENGTH);
      const badStage = scanCharacters(input, stageStart, end, LABEL_CHARS, 'a version stage', 'a-z A-Z 0-9 _ . + = @ -', 'bad-version-stage');
      if (badStage) return badStage;
      reference.versionStage = input.slice(stageStart);
    }
  }
  return { ok: true, reference };
}

/**
 * Parses and validates a reference. Never throws; the problem says which character at which
 * position is wrong.
 *
 * @example
 * parseReference('secretsmanager:prod/tenants/acme/avalara:license_key')
 * // → { ok: true, reference: { service: 'secretsmanager', name: 'prod/tenants/acme/avalara', jsonKey: 'license_key' } }
 */
export function parseReference(input: string): ParseReferenceResult {
  if (typeof input !== 'string' || input.length === 0) return fail('empty', 'the reference is empty', undefined, 'e.g. ssm:/dev/tenants/acme/avalara/account_id');
  if (input.length > MAX_REFERENCE_LENGTH) return fail('too-long', `the reference is longer than ${MAX_REFERENCE_LENGTH} characters`);
  if (input.startsWith(SSM_PREFIX)) {
    if (input.startsWith('arn:', SSM_PREFIX.length)) return arnProblem(SSM_PREFIX.length, 'ssm:/dev/tenants/acme/avalara/account_id');
    return parseSsm(input);
  }
  if (input.startsWith(SM_PREFIX)) {
    if (input.startsWith('arn:', SM_PREFIX.length)) return arnProblem(SM_PREFIX.length, 'secretsmanager:dev/tenants/acme/avalara');
    return parseSecretsManager(input);
  }
  if (input.startsWith('arn:')) {
    return arnProblem(0, 'ssm:<parameter-name> or secretsmanager:<secret-name>');
  }
  const colon = input.indexOf(':');
  const prefix = colon === -1 ? '' : input.slice(0, colon).toLowerCase();
  if (prefix === 'ssm' || prefix === 'secretsmanager') {
    return fail('unknown-service', `the service prefix must be lower case ("${prefix}:")`, 1, `write ${prefix}:…`);
  }
  return fail('unknown-service', 'a reference starts with "ssm:" or "secretsmanager:"', 1,
    'e.g. ssm:/dev/tenants/acme/avalara/account_id or secretsmanager:dev/tenants/acme/avalara:license_key');
}

function arnProblem(offset: number, example: string): ParseReferenceResult {
  return fail('arn', `an ARN at position ${offset + 1}: references use the parameter or secret name, not its ARN`, offset + 1,
    `use the name, e.g. ${example}; the account and region come from the tenant's stage`);
}

/** Parses a reference or throws {@link ReferenceSyntaxError}. */
export function parseReferenceOrThrow(input: string): SecretReference {
  const result = parseReference(input);
  if (!result.ok) throw new ReferenceSyntaxError(result.problem);
  return result.reference;
}

/** The problem with `input` as a reference, or undefined when it is valid. */
export function referenceProblem(input: string): ReferenceProblem | undefined {
  const result = parseReference(input);
  return result.ok ? undefined : result.problem;
}

/** Prints a reference; `parseReference(formatReference(r))` gives back `r` for every valid `r`. */
export function formatReference(reference: SecretReference): string {
  if (reference.service === 'ssm') return `${SSM_PREFIX}${reference.name}`;
  let text = `${SM_PREFIX}${reference.name}`;
  const key = reference.jsonKey ?? '';
  if (reference.versionStage) text += `:${key}:${reference.versionStage}`;
  else if (key) text += `:${key}`;
  return text;
}

/**
 * The stored thing a reference points at, without JSON key or stage: `ssm:<name>` or
 * `secretsmanager:<name>`. Two references with the same target read the same versions.
 */
export function referenceTarget(reference: SecretReference): string {
  return reference.service === 'ssm' ? `${SSM_PREFIX}${reference.name}` : `${SM_PREFIX}${reference.name}`;
}
