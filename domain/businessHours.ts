import { DateTime } from 'luxon';
import { z } from 'zod';

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'must be a time of day such as 09:00');
const openRange = z
  .tuple([clockTime, clockTime])
  .refine(([open, close]) => open < close, 'must close after it opens (split a shift that crosses midnight in two)');

/** Opening hours per weekday (several ranges make a split shift) and closed dates, in a timezone. */
export const businessCalendarSchema = z.strictObject({
  timezone: z.string().refine((zone) => DateTime.local().setZone(zone).isValid, 'must be an IANA timezone such as Europe/Berlin'),
  weekly: z.strictObject(Object.fromEntries(weekdays.map((day) => [day, z.array(openRange).max(6)])) as Record<Weekday, z.ZodArray<typeof openRange>>),
  holidays: z.array(z.iso.date()).max(400),
});
export type BusinessCalendar = z.infer<typeof businessCalendarSchema>;

/** How far ahead to look for an open hour before deciding a calendar is never open. */
const SEARCH_DAYS = 800;

function minutesOf(clock: string): { hour: number; minute: number } {
  const [hour, minute] = clock.split(':').map(Number) as [number, number];
  return { hour, minute };
}

/**
 * The open intervals of one local day as epoch-millisecond pairs. Each end is placed in the zone on
 * its own, so a day with a DST change gets its real length.
 */
function openIntervals(day: DateTime, calendar: BusinessCalendar): [number, number][] {
  if (calendar.holidays.includes(day.toISODate() ?? '')) return [];
  const ranges = calendar.weekly[weekdays[day.weekday - 1] as Weekday];
  return ranges.map(([open, close]) => {
    const at = (clock: string) => {
      const { hour, minute } = minutesOf(clock);
      return hour === 24 ? day.plus({ days: 1 }).startOf('day').toMillis() : day.set({ hour, minute }).toMillis();
    };
    return [at(open), at(close)];
  });
}

function* intervalsFrom(start: number, calendar: BusinessCalendar): Generator<[number, number]> {
  let day = DateTime.fromMillis(start, { zone: calendar.timezone }).startOf('day');
  for (let i = 0; i < SEARCH_DAYS; i++, day = day.plus({ days: 1 })) {
    for (const interval of openIntervals(day, calendar)) if (interval[1] > start) yield interval;
  }
}

/**
 * The moment `durationMs` of open time has passed after `start`. A lead that arrives Friday 17:55
 * with 15 minutes to go, on a 09:00-17:00 weekday calendar, is due Monday 09:10.
 */
export function addBusinessTime(start: number, durationMs: number, calendar: BusinessCalendar): number {
  let remaining = durationMs;
  for (const [open, close] of intervalsFrom(start, calendar)) {
    const from = Math.max(open, start);
    if (from + remaining <= close) return from + remaining;
    remaining -= close - from;
  }
  throw new RangeError(`The calendar has no open hours in the ${SEARCH_DAYS} days after ${new Date(start).toISOString()}`);
}

/** Open time between two moments: the inverse of `addBusinessTime`. */
export function businessTimeBetween(start: number, end: number, calendar: BusinessCalendar): number {
  let total = 0;
  for (const [open, close] of intervalsFrom(start, calendar)) {
    if (open >= end) break;
    total += Math.min(close, end) - Math.max(open, start);
  }
  return total;
}

export function isOpen(at: number, calendar: BusinessCalendar): boolean {
  for (const [open] of intervalsFrom(at, calendar)) return open <= at;
  return false;
}

/** The first open moment at or after `at` (`at` itself when open), or null if the calendar never opens. */
export function nextOpening(at: number, calendar: BusinessCalendar): number | null {
  for (const [open] of intervalsFrom(at, calendar)) return Math.max(open, at);
  return null;
}
