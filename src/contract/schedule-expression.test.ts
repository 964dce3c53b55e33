import { describe, expect, it } from 'vitest';
import { nextFireTime, parseScheduleExpression, type ScheduleExpression } from './schedule-expression.js';

function parsed(text: string): ScheduleExpression {
  const result = parseScheduleExpression(text);
  if (!result.ok) throw new Error(`${text}: ${result.problem}`);
  return result.expression;
}

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('parseScheduleExpression', () => {
  it.each(['rate(1 minute)', 'rate(5 minutes)', 'rate(1 hour)', 'rate(12 hours)', 'rate(1 day)', 'rate(7 days)'])('accepts %s', (text) => {
    expect(parseScheduleExpression(text).ok).toBe(true);
  });

  it.each([
    ['rate(1 minutes)', /plural "minutes" with 1/],
    ['rate(5 minute)', /singular "minute" with 5/],
    ['rate(0 minutes)', /positive whole number/],
    ['rate(1.5 hours)', /positive whole number/],
    ['rate(2 weeks)', /minute\(s\), hour\(s\) or day\(s\)/],
    ['rate(5  minutes)', /positive whole number/],
    ['every 5 minutes', /neither rate/],
    ['at(2026-12-24T10:00:00)', /one-time schedule/],
  ])('refuses %s', (text, problem) => {
    const result = parseScheduleExpression(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problem).toMatch(problem);
      expect(result.hint).not.toBe('');
    }
  });

  it.each([
    'cron(0 12 * * ? *)',
    'cron(15 10 ? * L 2026)',
    'cron(0/15 * * * ? *)',
    'cron(0 8 1 * ? *)',
    'cron(0 18 ? * MON-FRI *)',
    'cron(0 9 ? * 2#1 *)',
    'cron(0 9 L * ? *)',
    'cron(0 9 15W * ? *)',
    'cron(5,35 14 * JAN,JUL ? 2026-2030)',
    'cron(*/10 0-6 ? * sun *)',
  ])('accepts %s', (text) => {
    expect(parseScheduleExpression(text).ok).toBe(true);
  });

  it.each([
    ['cron(0 12 * * * *)', /exactly one of them must be "\?"/],
    ['cron(0 12 ? * ? *)', /"\?" in both day fields/],
    ['cron(0 12 * * ?)', /cron takes 6/],
    ['cron(0 12 * * ? * *)', /cron takes 6/],
    ['cron(60 12 * * ? *)', /minutes has 60, outside 0–59/],
    ['cron(0 24 * * ? *)', /hours has 24/],
    ['cron(0 12 32 * ? *)', /day-of-month has 32/],
    ['cron(0 12 * 13 ? *)', /month has 13/],
    ['cron(0 12 ? * 8 *)', /day-of-week has 8/],
    ['cron(0 12 * * ? 2200)', /year has 2200/],
    ['cron(0 12 ? * 2#1,4#3 *)', /# takes one expression/],
    ['cron(0 12 ? * 1/2 *)', /day-of-week does not take "\/"/],
    ['cron(0 12 ? * 2W *)', /no W/],
    ['cron(? 12 * * ? *)', /only in day-of-month and day-of-week/],
    ['cron(0 12 5-1 * ? *)', /ends before it starts/],
    ['cron(0 12 * FOO ? *)', /not a number or a name \(JAN–DEC\)/],
  ])('refuses %s', (text, problem) => {
    const result = parseScheduleExpression(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toMatch(problem);
  });
});

describe('nextFireTime', () => {
  it('counts a rate from its origin', () => {
    const origin = at('2026-12-07T10:00:30Z');
    const rate = parsed('rate(15 minutes)');
    expect(iso(nextFireTime(rate, origin, origin))).toBe('2026-12-07T10:15:30.000Z');
    expect(iso(nextFireTime(rate, at('2026-12-07T10:15:30Z'), origin))).toBe('2026-12-07T10:30:30.000Z');
    expect(iso(nextFireTime(rate, at('2026-12-07T11:59:00Z'), origin))).toBe('2026-12-07T12:00:30.000Z');
  });

  it.each([
    ['cron(0 12 * * ? *)', '2026-12-07T12:00:00Z', '2026-12-08T12:00:00.000Z'],
    ['cron(0 12 * * ? *)', '2026-12-07T11:59:59Z', '2026-12-07T12:00:00.000Z'],
    ['cron(0/15 * * * ? *)', '2026-12-07T10:01:00Z', '2026-12-07T10:15:00.000Z'],
    ['cron(0 18 ? * MON-FRI *)', '2026-12-11T19:00:00Z', '2026-12-14T18:00:00.000Z'],
    // the first Monday of January 2027 is the 4th
    ['cron(0 9 ? * 2#1 *)', '2026-12-08T00:00:00Z', '2027-01-04T09:00:00.000Z'],
    ['cron(0 9 L * ? *)', '2027-02-01T00:00:00Z', '2027-02-28T09:00:00.000Z'],
    // the last day of the week is Saturday
    ['cron(0 9 ? * L *)', '2026-12-07T00:00:00Z', '2026-12-12T09:00:00.000Z'],
    // 2026-11-15 is a Sunday: the nearest weekday is Monday the 16th; 2027-05-01 is a Saturday: Monday the 3rd
    ['cron(0 9 15W * ? *)', '2026-11-01T00:00:00Z', '2026-11-16T09:00:00.000Z'],
    ['cron(0 9 1W * ? *)', '2027-04-20T00:00:00Z', '2027-05-03T09:00:00.000Z'],
    ['cron(30 6 29 FEB ? *)', '2026-03-01T00:00:00Z', '2028-02-29T06:30:00.000Z'],
    ['cron(0 0 1 1 ? 2027)', '2027-01-01T00:00:00Z', undefined],
  ])('%s after %s is %s', (text, after, next) => {
    expect(iso(nextFireTime(parsed(text), at(after)))).toBe(next);
  });
});
