/**
 * EventBridge Scheduler's recurring schedule expressions, parsed once for the manifest check, the
 * tenant template and `sovereign dev`'s scheduler, so all three accept exactly the same text.
 *
 * - `rate(<value> <unit>)`: a positive whole number and `minute`/`hour`/`day`, singular for 1 and
 *   plural above (`rate(1 hour)`, `rate(5 minutes)`; `rate(1 hours)` and `rate(5 hour)` are refused).
 * - `cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)`: six fields. Values:
 *   minutes 0–59, hours 0–23, day-of-month 1–31, month 1–12 or JAN–DEC, day-of-week 1–7 or SUN–SAT
 *   (1 is Sunday), year 1970–2199. Every field takes `,` lists, `-` ranges, `*` and `/` increments,
 *   except day-of-week, which has no `/`. Day-of-month also takes `?`, `L` (the last day of the
 *   month) and `<n>W` (the weekday nearest day n); day-of-week takes `?`, `L` (the last day of the
 *   week, Saturday) and `<d>#<n>` (the n-th weekday d of the month, alone in its field). Exactly one
 *   of day-of-month and day-of-week is `?`.
 *
 * Times are UTC: the tenant template sets no `ScheduleExpressionTimezone`, which is UTC in
 * EventBridge Scheduler too. Pure and dependency-free.
 */

export type ScheduleExpression =
  | { kind: 'rate'; text: string; value: number; unit: 'minute' | 'hour' | 'day'; intervalMs: number }
  | { kind: 'cron'; text: string; fields: CronFields };

/** A day-of-month or day-of-week field: a set of values, or one of the special forms. */
type DayField =
  | { kind: 'any' }
  | { kind: 'set'; values: Set<number> }
  | { kind: 'last' }
  | { kind: 'weekday'; day: number }
  | { kind: 'nth'; weekday: number; n: number };

export interface CronFields {
  minutes: Set<number>;
  hours: Set<number>;
  dayOfMonth: DayField;
  months: Set<number>;
  dayOfWeek: DayField;
  years: Set<number>;
}

export type ScheduleExpressionParse = { ok: true; expression: ScheduleExpression } | { ok: false; problem: string; hint: string };

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** Whether `/` increments are allowed. */
  step: boolean;
}

const FIELDS: Record<'minutes' | 'hours' | 'dayOfMonth' | 'months' | 'dayOfWeek' | 'years', FieldSpec> = {
  minutes: { name: 'minutes', min: 0, max: 59, step: true },
  hours: { name: 'hours', min: 0, max: 23, step: true },
  dayOfMonth: { name: 'day-of-month', min: 1, max: 31, step: true },
  months: { name: 'month', min: 1, max: 12, names: MONTHS, step: true },
  dayOfWeek: { name: 'day-of-week', min: 1, max: 7, names: DAYS, step: false },
  years: { name: 'year', min: 1970, max: 2199, step: true },
};

const RATE_HINT = 'write rate(1 minute), rate(15 minutes), rate(1 hour), rate(2 days): a whole number, singular unit for 1, plural above';
const CRON_HINT = 'write six fields, minutes hours day-of-month month day-of-week year, with "?" in one of the two day fields, e.g. cron(0 12 * * ? *)';

class FieldError extends Error {}

function atom(text: string, spec: FieldSpec): number {
  const upper = text.toUpperCase();
  const named = spec.names?.indexOf(upper) ?? -1;
  if (named >= 0) return named + 1;
  if (!/^\d+$/.test(text)) throw new FieldError(`${spec.name} has "${text}", which is not a number${spec.names ? ` or a name (${spec.names[0]}–${spec.names.at(-1)})` : ''}`);
  const value = Number(text);
  if (value < spec.min || value > spec.max) throw new FieldError(`${spec.name} has ${value}, outside ${spec.min}–${spec.max}`);
  return value;
}

/** A field of `,`-separated items, each `*`, `v`, `a-b`, optionally `/step`. */
function valueSet(text: string, spec: FieldSpec): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') throw new FieldError(`${spec.name} has an empty list item`);
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined) throw new FieldError(`${spec.name} has "${item}" with two "/"`);
    let step = 1;
    if (stepText !== undefined) {
      if (!spec.step) throw new FieldError(`${spec.name} does not take "/" increments`);
      if (!/^[1-9]\d*$/.test(stepText)) throw new FieldError(`${spec.name} has the increment "${stepText}", which is not a positive number`);
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (range === '*') {
      from = spec.min;
      to = spec.max;
    } else {
      const dash = range!.split('-');
      if (dash.length > 2) throw new FieldError(`${spec.name} has "${range}", which is not a range a-b`);
      from = atom(dash[0]!, spec);
      // `5/15` counts from 5 to the end of the field.
      to = dash.length === 2 ? atom(dash[1]!, spec) : stepText !== undefined ? spec.max : from;
      if (to < from) throw new FieldError(`${spec.name} has the range "${range}", which ends before it starts`);
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

function dayOfMonthField(text: string): DayField {
  if (text === '?') return { kind: 'any' };
  if (text === 'L') return { kind: 'last' };
  const weekday = /^(\d+)W$/.exec(text);
  if (weekday) return { kind: 'weekday', day: atom(weekday[1]!, FIELDS.dayOfMonth) };
  if (/[LW#]/i.test(text)) throw new FieldError(`day-of-month has "${text}"; it takes L alone or <day>W (e.g. 15W) alone`);
  return { kind: 'set', values: valueSet(text, FIELDS.dayOfMonth) };
}

function dayOfWeekField(text: string): DayField {
  if (text === '?') return { kind: 'any' };
  if (text === 'L') return { kind: 'last' };
  const nth = /^([A-Za-z]+|\d+)#(\d+)$/.exec(text);
  if (nth) {
    const n = Number(nth[2]);
    if (n < 1 || n > 5) throw new FieldError(`day-of-week has "${text}"; the week of the month after # is 1–5`);
    return { kind: 'nth', weekday: atom(nth[1]!, FIELDS.dayOfWeek), n };
  }
  if (text.includes('#')) throw new FieldError(`day-of-week has "${text}"; # takes one expression, e.g. 3#2 (the second Tuesday), and no list`);
  if (/W/i.test(text.replace(/WED/gi, '')) || /L/i.test(text)) throw new FieldError(`day-of-week has "${text}"; it takes L alone, and no W`);
  return { kind: 'set', values: valueSet(text, FIELDS.dayOfWeek) };
}

function parseCron(text: string, body: string): ScheduleExpressionParse {
  const parts = body.split(' ');
  if (parts.some((p) => p === '') || parts.length !== 6) {
    return { ok: false, problem: `"${text}" has ${parts.filter((p) => p !== '').length} fields separated by single spaces, cron takes 6`, hint: CRON_HINT };
  }
  const [minutes, hours, dom, month, dow, year] = parts as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    return {
      ok: false,
      problem: `"${text}" has ${dom === '?' ? '"?" in both day fields' : `"${dom}" as day-of-month and "${dow}" as day-of-week`}; exactly one of them must be "?"`,
      hint: 'e.g. cron(0 12 * * ? *) every day at 12:00 UTC, cron(0 9 ? * MON-FRI *) at 9:00 UTC on weekdays',
    };
  }
  try {
    if (/\?/.test(minutes + hours + month + year)) throw new FieldError('"?" is allowed only in day-of-month and day-of-week');
    const fields: CronFields = {
      minutes: valueSet(minutes, FIELDS.minutes),
      hours: valueSet(hours, FIELDS.hours),
      dayOfMonth: dayOfMonthField(dom),
      months: valueSet(month, FIELDS.months),
      dayOfWeek: dayOfWeekField(dow),
      years: valueSet(year, FIELDS.years),
    };
    return { ok: true, expression: { kind: 'cron', text, fields } };
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    return { ok: false, problem: `"${text}": ${error.message}`, hint: CRON_HINT };
  }
}

/** Parses a schedule expression with EventBridge Scheduler's grammar for recurring schedules. */
export function parseScheduleExpression(text: string): ScheduleExpressionParse {
  const rate = /^rate\((.*)\)$/.exec(text);
  if (rate) {
    const match = /^([1-9]\d*) (minute|minutes|hour|hours|day|days)$/.exec(rate[1]!);
    if (!match) return { ok: false, problem: `"${text}" is not rate(<value> <unit>) with a positive whole number and minute(s), hour(s) or day(s)`, hint: RATE_HINT };
    const value = Number(match[1]);
    const word = match[2]!;
    const unit = word.replace(/s$/, '') as 'minute' | 'hour' | 'day';
    if (value === 1 && word !== unit) return { ok: false, problem: `"${text}" uses the plural "${word}" with 1`, hint: `write rate(1 ${unit})` };
    if (value > 1 && word === unit) return { ok: false, problem: `"${text}" uses the singular "${word}" with ${value}`, hint: `write rate(${value} ${unit}s)` };
    return { ok: true, expression: { kind: 'rate', text, value, unit, intervalMs: value * UNIT_MS[unit] } };
  }
  const cron = /^cron\((.*)\)$/.exec(text);
  if (cron) return parseCron(text, cron[1]!);
  if (/^at\(/.test(text)) return { ok: false, problem: `"${text}" is a one-time schedule; a manifest declares recurring ones`, hint: 'use rate(…) or cron(…)' };
  return { ok: false, problem: `"${text}" is neither rate(…) nor cron(…)`, hint: 'e.g. rate(15 minutes) or cron(0 12 * * ? *)' };
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Whether a calendar day (UTC; month 1–12) matches the two day fields. */
function dayMatches(fields: CronFields, year: number, month: number, day: number): boolean {
  const last = daysInMonth(year, month);
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1; // 1 = Sunday
  const dom = fields.dayOfMonth;
  const dow = fields.dayOfWeek;
  if (dom.kind !== 'any') {
    if (dom.kind === 'set') return dom.values.has(day);
    if (dom.kind === 'last') return day === last;
    if (dom.kind === 'weekday') {
      // The weekday (Mon–Fri) nearest the given day, within the month.
      const target = Math.min(dom.day, last);
      const targetWeekday = new Date(Date.UTC(year, month - 1, target)).getUTCDay();
      let nearest = target;
      if (targetWeekday === 6) nearest = target === 1 ? 3 : target - 1;
      else if (targetWeekday === 0) nearest = target === last ? target - 2 : target + 1;
      return day === nearest;
    }
    return false;
  }
  if (dow.kind === 'set') return dow.values.has(weekday);
  if (dow.kind === 'last') return weekday === 7;
  if (dow.kind === 'nth') return weekday === dow.weekday && Math.ceil(day / 7) === dow.n;
  return false;
}

/**
 * The first fire time strictly after `after` (epoch ms), or undefined when there is none before
 * the end of 2199. A rate schedule fires every interval counted from `origin` (when it was created:
 * EventBridge Scheduler starts a rate schedule without a start date at its creation).
 */
export function nextFireTime(expression: ScheduleExpression, after: number, origin = after): number | undefined {
  if (expression.kind === 'rate') {
    const elapsed = Math.max(0, after - origin);
    return origin + (Math.floor(elapsed / expression.intervalMs) + 1) * expression.intervalMs;
  }
  const { fields } = expression;
  const start = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth() + 1;
  let day = start.getUTCDate();
  let minuteOfDay = start.getUTCHours() * 60 + start.getUTCMinutes();
  const hours = [...fields.hours].sort((a, b) => a - b);
  const minutes = [...fields.minutes].sort((a, b) => a - b);
  for (; year <= FIELDS.years.max; year++, month = 1, day = 1, minuteOfDay = 0) {
    if (!fields.years.has(year)) continue;
    for (; month <= 12; month++, day = 1, minuteOfDay = 0) {
      if (!fields.months.has(month)) continue;
      const last = daysInMonth(year, month);
      for (; day <= last; day++, minuteOfDay = 0) {
        if (!dayMatches(fields, year, month, day)) continue;
        for (const hour of hours) {
          for (const minute of minutes) {
            if (hour * 60 + minute >= minuteOfDay) return Date.UTC(year, month - 1, day, hour, minute);
          }
        }
      }
    }
  }
  return undefined;
}
