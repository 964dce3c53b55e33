/**
 * Fields more than one command declares: one schema, and one wording in every --help. Each keeps
 * the message its commands printed before.
 */
import { assertTenantId } from '../names.js';
import { parseWindowMinutes } from '../telemetry/source.js';
import { badInput } from '../errors.js';
import { arg, flag, option, optional, parsedBy, text } from './define.js';

/** A tenant id, checked by the naming rules (`assertTenantId`) with their message and hint. */
export const tenantId = parsedBy((text) => {
  assertTenantId(text);
  return text;
});

/** A whole number of at least `min`, named by its flag in the error (`--concurrency 0 is not a whole number ≥ 1`). */
export function wholeNumber(flag: string, min: number) {
  return parsedBy((value) => {
    if (/^\d+$/.test(value) && Number(value) >= min) return Number(value);
    throw badInput(`${flag} ${value} is not a whole number ≥ ${min}`);
  });
}

/** `<id>`: the tenant a command is about (checked where the tenant is looked up). */
export const idArgument = arg('<id>', 'tenant id', text, 'tenant');

/** `--minutes`: the window of telemetry figures (1–60), as `parseWindowMinutes` reads it. */
export const windowMinutes = option('--minutes <n>', 'window of the recent figures, 1–60 minutes', parsedBy(parseWindowMinutes), { default: '15' });

/** `--force-delete-table` of `tenant destroy` and `tenant offboard`. */
export const forceDeleteTable = flag('--force-delete-table', 'aws: lift the table\'s deletion protection (stages other than dev have it)');

/** `--reason` of `tenant suspend` and `tenant resume`: an empty reason is no reason. */
export const transitionReason = option('--reason <text>', 'why, recorded in the tenant\'s transitions and the audit log', optional(parsedBy((text) => text || undefined)));
