/**
 * The dashboard's date range: whole calendar days in the viewer's time zone, written `YYYY-MM-DD`
 * (as `<input type="date">` and the URL have them), both ends included.
 */
export interface DayRange {
  from: string;
  to: string;
}

/** The API refuses longer ranges (api/routes/stats.ts). */
export const MAX_RANGE_DAYS = 400;

const pad = (n: number) => String(n).padStart(2, '0');

export const toDay = (date: Date) => `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;

/** Local midnight of a `YYYY-MM-DD` day; null for anything else, 2026-02-30 included. */
export function parseDay(text: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return null;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return toDay(date) === text ? date : null;
}

/** Calendar arithmetic, so a day with a daylight-saving change is still one day. */
export const addDays = (date: Date, days: number) => new Date(date.getFullYear(), date.getMonth(), date.getDate() + days);

export const presets = [
  { id: '7d', label: 'Last 7 days' },
  { id: '30d', label: 'Last 30 days' },
  { id: '90d', label: 'Last 90 days' },
  { id: 'month', label: 'This month' },
  { id: 'last-month', label: 'Last month' },
] as const;
export type PresetId = (typeof presets)[number]['id'];

export function presetRange(id: PresetId, now = new Date()): DayRange {
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const back = (days: number) => ({ from: toDay(addDays(today, -(days - 1))), to: toDay(today) });
  switch (id) {
    case '7d':
      return back(7);
    case '30d':
      return back(30);
    case '90d':
      return back(90);
    case 'month':
      return { from: toDay(new Date(today.getFullYear(), today.getMonth(), 1)), to: toDay(today) };
    case 'last-month':
      return {
        from: toDay(new Date(today.getFullYear(), today.getMonth() - 1, 1)),
        to: toDay(new Date(today.getFullYear(), today.getMonth(), 0)),
      };
  }
}

/** Days from `from` to `to`, both included. */
export function daysOf(range: DayRange): string[] {
  const start = parseDay(range.from);
  const end = parseDay(range.to);
  const days: string[] = [];
  for (let day = start; day && end && day <= end; day = addDays(day, 1)) days.push(toDay(day));
  return days;
}

/** What is wrong with a range, in words; null when the API will take it. */
export function rangeProblem(range: DayRange): string | null {
  const from = parseDay(range.from);
  const to = parseDay(range.to);
  if (!from || !to) return 'Pick a start and an end date.';
  if (from > to) return 'The start date must be on or before the end date.';
  if (daysOf(range).length > MAX_RANGE_DAYS) return `Pick at most ${MAX_RANGE_DAYS} days.`;
  return null;
}

/** The range as the instants the API counts between: local midnight of `from` up to the midnight after `to`. */
export function rangeInstants(range: DayRange): { from: string; to: string } {
  return { from: parseDay(range.from)!.toISOString(), to: addDays(parseDay(range.to)!, 1).toISOString() };
}
