/**
 * The instant of an event time's calendar fields, the one rule both validator fast paths apply
 * (`fastAccept` on a parsed string, `scanEvent` on bytes).
 *
 * @module
 */

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Epoch ms of the UTC calendar fields when they certainly name a real instant (what
 * `new Date(Date.parse(s)).toISOString() === s` accepts for their ISO text); `undefined` when
 * not sure: a negative field (a non-digit where a digit belongs), one out of range, a day past
 * its month's end, or a year below 100 (`Date.UTC` maps those to 1900 + year).
 */
export function utcInstant(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
): number | undefined {
  if (
    year < 100 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 ||
    minute > 59 || second < 0 || second > 59 || ms < 0
  ) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 ? (leap ? 29 : 28) : DAYS_IN_MONTH[month]!)) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}
