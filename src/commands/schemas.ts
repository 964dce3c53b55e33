/** Schemas of values more than one command takes; each keeps the message its command printed before. */
import { z } from 'zod';
import { assertTenantId } from '../names.js';
import { parseWindowMinutes } from '../telemetry/source.js';
import { issue, parsedBy } from './define.js';

/** A tenant id, checked by the naming rules (`assertTenantId`) with their message and hint. */
export const tenantId = parsedBy((text) => {
  assertTenantId(text);
  return text;
});

/** A whole number of at least `min`, named by its flag in the error (`--concurrency 0 is not a whole number ≥ 1`). */
export function wholeNumber(flag: string, min: number) {
  return z.string().transform((text, ctx) => {
    if (/^\d+$/.test(text) && Number(text) >= min) return Number(text);
    issue(ctx, text, `${flag} ${text} is not a whole number ≥ ${min}`);
    return z.NEVER;
  });
}

/** The `--minutes` window of telemetry figures (1–60), as `parseWindowMinutes` reads it. */
export const windowMinutes = parsedBy(parseWindowMinutes);
