/**
 * Business hours as the editors hold them, in words for the lists, and calendar dates in a team's
 * time zone. The API validates the hours (domain/businessHours.ts); its field paths, such as
 * `businessHours.weekly.mon.0.1`, are the keys the editor shows errors under.
 */
import type { Weekday } from '../../domain/businessHours';
import type { BusinessHours } from './types';

/** A Record, so a weekday added to the domain fails the type check here. */
export const weekdayNames: Record<Weekday, { short: string; long: string }> = {
  mon: { short: 'Mon', long: 'Monday' },
  tue: { short: 'Tue', long: 'Tuesday' },
  wed: { short: 'Wed', long: 'Wednesday' },
  thu: { short: 'Thu', long: 'Thursday' },
  fri: { short: 'Fri', long: 'Friday' },
  sat: { short: 'Sat', long: 'Saturday' },
  sun: { short: 'Sun', long: 'Sunday' },
};
export const weekdays = Object.keys(weekdayNames) as Weekday[];

export interface ShiftDraft {
  /** Stable across removals, so each row keeps its inputs (and focus). */
  key: number;
  open: string;
  close: string;
}

export interface HoursDraft {
  weekly: Record<Weekday, ShiftDraft[]>;
  holidays: string[];
}

let nextKey = 1;
export const shiftKey = () => nextKey++;

export function toHoursDraft(hours: BusinessHours): HoursDraft {
  const weekly = Object.fromEntries(
    weekdays.map((day) => [day, (hours.weekly[day] ?? []).map(([open, close]) => ({ key: shiftKey(), open, close }))]),
  ) as Record<Weekday, ShiftDraft[]>;
  return { weekly, holidays: [...hours.holidays].sort() };
}

/** The hours to send; the API decides whether they are valid. */
export function toHours(draft: HoursDraft): BusinessHours {
  const weekly = Object.fromEntries(
    weekdays.map((day) => [day, draft.weekly[day].map(({ open, close }) => [open.trim(), close.trim()] as [string, string])]),
  ) as BusinessHours['weekly'];
  return { weekly, holidays: [...draft.holidays] };
}

/** No open hours at all: the starting point where there is no team to copy. */
export function closedHours(): BusinessHours {
  return { weekly: Object.fromEntries(weekdays.map((d) => [d, []])) as unknown as BusinessHours['weekly'], holidays: [] };
}

/** Monday to Friday, nine to five: where a new team starts. */
export function officeHours(): BusinessHours {
  const day = (open: boolean): [string, string][] => (open ? [['09:00', '17:00']] : []);
  return {
    weekly: Object.fromEntries(weekdays.map((d) => [d, day(d !== 'sat' && d !== 'sun')])) as BusinessHours['weekly'],
    holidays: [],
  };
}

const toMinutes = (clock: string) => {
  const match = /^(\d{2}):(\d{2})$/.exec(clock);
  return match ? Number(match[1]) * 60 + Number(match[2]) : null;
};
const toClock = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** A new shift on a day: nine to five on a closed day, else an hour after the last one ends, where that fits. */
export function nextShift(shifts: ShiftDraft[]): ShiftDraft {
  const last = shifts.at(-1);
  if (!last) return { key: shiftKey(), open: '09:00', close: '17:00' };
  const end = toMinutes(last.close);
  if (end === null || end > 22 * 60) return { key: shiftKey(), open: '', close: '' };
  return { key: shiftKey(), open: toClock(end + 60), close: toClock(Math.min(end + 5 * 60, 24 * 60)) };
}

const rangesText = (ranges: [string, string][]) => ranges.map(([open, close]) => `${open}–${close}`).join(', ');

/**
 * ["Mon–Fri 09:00–17:00", "Sat 10:00–14:00"]: consecutive days with the same shifts share one part;
 * closed days are left out.
 */
export function hoursParts(hours: BusinessHours): string[] {
  const days = weekdays.map((day) => ({ day, text: rangesText(hours.weekly[day] ?? []) }));
  if (days.every(({ text }) => text === '00:00–24:00')) return ['Around the clock'];
  const parts: string[] = [];
  for (let i = 0; i < days.length; ) {
    let j = i;
    while (j + 1 < days.length && days[j + 1]!.text === days[i]!.text) j++;
    const { day, text } = days[i]!;
    if (text) {
      const span = j === i ? weekdayNames[day].short : `${weekdayNames[day].short}–${weekdayNames[days[j]!.day].short}`;
      parts.push(`${span} ${text}`);
    }
    i = j + 1;
  }
  return parts.length ? parts : ['Closed every day'];
}

/** The week in one line: "Mon–Fri 09:00–17:00 · Sat 10:00–14:00". */
export const summarizeHours = (hours: BusinessHours) => hoursParts(hours).join(' · ');

/** The closed dates still ahead in the zone, soonest first. */
export function datesAhead(dates: string[], zone: string): string[] {
  const today = dateInZone(new Date().toISOString(), zone);
  return dates.filter((date) => date >= today).sort();
}

export const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Every IANA zone the browser knows, for the time zone box; empty where the browser cannot list them. */
export function knownZones(): string[] {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return [];
  }
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>();
function zoneParts(at: Date, zone: string) {
  let format = partsFormatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    partsFormatters.set(zone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(at).map((part) => [part.type, part.value]));
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day), hour: Number(parts.hour), minute: Number(parts.minute), second: Number(parts.second) };
}

/** How far the zone's wall clock is ahead of UTC at that moment. */
function zoneOffset(at: number, zone: string): number {
  const p = zoneParts(new Date(at), zone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(at / 1000) * 1000;
}

/** The calendar date (YYYY-MM-DD) of a moment in a zone. */
export function dateInZone(iso: string, zone: string): string {
  const p = zoneParts(new Date(iso), zone);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** The moment a calendar date begins in a zone, as an ISO string: out of office "until Aug 15" ends there. */
export function startOfDateInZone(date: string, zone: string): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(year, month - 1, day);
  // Twice: the offset at the first guess may differ from the offset at the answer across a DST change.
  let at = wall - zoneOffset(wall, zone);
  at = wall - zoneOffset(at, zone);
  return new Date(at).toISOString();
}

/** "Aug 15" (with the year when it is not this one), as the date reads in the zone. */
export function formatDateInZone(iso: string, zone: string): string {
  const date = new Date(iso);
  const sameYear = zoneParts(date, zone).year === zoneParts(new Date(), zone).year;
  return new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', ...(sameYear ? {} : { year: 'numeric' }), timeZone: zone }).format(date);
}

/** "Dec 25, 2026" for a plain calendar date, in no zone at all. */
export function formatCalendarDate(date: string): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' }).format(new Date(Date.UTC(year, month - 1, day)));
}

/** The wall-clock time now in a zone: "14:05". */
export function clockInZone(zone: string, now = Date.now()): string {
  try {
    const p = zoneParts(new Date(now), zone);
    return `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
  } catch {
    return '';
  }
}
