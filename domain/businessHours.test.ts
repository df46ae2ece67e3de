import { describe, expect, it } from '@jest/globals';
import { DateTime } from 'luxon';
import { addBusinessTime, businessCalendarSchema, businessTimeBetween, isOpen, type BusinessCalendar } from './businessHours.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const zone = 'America/New_York';
const at = (iso: string) => DateTime.fromISO(iso, { zone }).toMillis();
const local = (ms: number) => DateTime.fromMillis(ms, { zone }).toFormat("ccc yyyy-MM-dd HH:mm");

const weekdays = (ranges: [string, string][]): BusinessCalendar['weekly'] => ({
  mon: ranges, tue: ranges, wed: ranges, thu: ranges, fri: ranges, sat: [], sun: [],
});
const office: BusinessCalendar = { timezone: zone, weekly: weekdays([['09:00', '17:00']]), holidays: [] };
const allDay = (['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const).reduce(
  (weekly, day) => ({ ...weekly, [day]: [['00:00', '24:00']] }),
  {} as BusinessCalendar['weekly'],
);

describe('adding business time', () => {
  it('carries a lead that arrives Friday 17:55 with a 15m SLA over the weekend to Monday 09:10', () => {
    const nineToSix = { ...office, weekly: weekdays([['09:00', '18:00']]) };
    expect(local(addBusinessTime(at('2026-11-20T17:55'), 15 * MIN, nineToSix))).toBe('Mon 2026-11-23 09:10');
  });

  it('starts the clock at the next opening for a lead that arrives outside hours', () => {
    expect(local(addBusinessTime(at('2026-11-21T11:00'), 15 * MIN, office))).toBe('Mon 2026-11-23 09:15');
    expect(local(addBusinessTime(at('2026-11-24T06:30'), HOUR, office))).toBe('Tue 2026-11-24 10:00');
    expect(local(addBusinessTime(at('2026-11-24T17:00'), MIN, office))).toBe('Wed 2026-11-25 09:01');
  });

  it('stays on the same day inside hours, and lands exactly on closing time', () => {
    expect(local(addBusinessTime(at('2026-11-24T10:00'), 90 * MIN, office))).toBe('Tue 2026-11-24 11:30');
    expect(local(addBusinessTime(at('2026-11-24T16:00'), HOUR, office))).toBe('Tue 2026-11-24 17:00');
  });

  it('skips the lunch break of a split shift', () => {
    const split = { ...office, weekly: weekdays([['08:00', '12:00'], ['13:00', '17:00']]) };
    expect(local(addBusinessTime(at('2026-11-24T11:50'), 20 * MIN, split))).toBe('Tue 2026-11-24 13:10');
  });

  it('skips holidays', () => {
    const thanksgiving = { ...office, holidays: ['2026-11-26', '2026-11-27'] };
    expect(local(addBusinessTime(at('2026-11-25T16:50'), 20 * MIN, thanksgiving))).toBe('Mon 2026-11-30 09:10');
  });

  it('counts multi-day durations in open hours only', () => {
    // 48 hours of business time on 8-hour days is six working days, Monday to the next Monday.
    expect(local(addBusinessTime(at('2026-11-23T09:00'), 48 * HOUR, office))).toBe('Mon 2026-11-30 17:00');
  });

  it('counts real elapsed time across both DST changes', () => {
    const always = { timezone: zone, weekly: allDay, holidays: [] };
    const spring = at('2027-03-14T01:30');
    expect(addBusinessTime(spring, HOUR, always) - spring).toBe(HOUR);
    expect(local(addBusinessTime(spring, HOUR, always))).toBe('Sun 2027-03-14 03:30');
    const fall = at('2026-11-01T00:30');
    expect(addBusinessTime(fall, 2 * HOUR, always) - fall).toBe(2 * HOUR);
    expect(local(addBusinessTime(fall, 2 * HOUR, always))).toBe('Sun 2026-11-01 01:30');
  });

  it('gives a range across a DST change its real length', () => {
    const nightShift = { timezone: zone, weekly: { ...weekdays([]), sun: [['00:00', '06:00']] as [string, string][] }, holidays: [] };
    expect(businessTimeBetween(at('2027-03-14T00:00'), at('2027-03-15T00:00'), nightShift)).toBe(5 * HOUR);
    expect(businessTimeBetween(at('2026-11-01T00:00'), at('2026-11-02T00:00'), nightShift)).toBe(7 * HOUR);
  });

  it('refuses a calendar that is never open', () => {
    expect(() => addBusinessTime(at('2026-11-23T09:00'), MIN, { timezone: zone, weekly: weekdays([]), holidays: [] })).toThrow(RangeError);
  });
});

describe('business time between two moments', () => {
  it('is the inverse of adding business time', () => {
    const calendars = [
      office,
      { ...office, weekly: weekdays([['08:00', '12:00'], ['13:00', '17:30']]), holidays: ['2026-12-24', '2026-12-25'] },
      { timezone: 'Europe/Berlin', weekly: { ...weekdays([['09:00', '18:00']]), sat: [['10:00', '14:00']] as [string, string][] }, holidays: [] },
    ];
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 300; i++) {
      const calendar = calendars[i % calendars.length]!;
      const start = at('2026-10-20T00:00') + Math.floor(random() * 120 * 24 * HOUR);
      const duration = Math.floor(random() * 30 * HOUR);
      const end = addBusinessTime(start, duration, calendar);
      expect(businessTimeBetween(start, end, calendar)).toBe(duration);
    }
  });

  it('is zero over a weekend and one working day over a whole weekday', () => {
    expect(businessTimeBetween(at('2026-11-21T00:00'), at('2026-11-23T00:00'), office)).toBe(0);
    expect(businessTimeBetween(at('2026-11-23T00:00'), at('2026-11-24T00:00'), office)).toBe(8 * HOUR);
  });
});

describe('open or closed', () => {
  it('knows when the office is open', () => {
    expect(isOpen(at('2026-11-23T09:00'), office)).toBe(true);
    expect(isOpen(at('2026-11-23T16:59'), office)).toBe(true);
    expect(isOpen(at('2026-11-23T17:00'), office)).toBe(false);
    expect(isOpen(at('2026-11-22T12:00'), office)).toBe(false);
  });
});

describe('the calendar schema', () => {
  it('accepts a valid calendar and names what is wrong with a bad one', () => {
    expect(businessCalendarSchema.safeParse(office).success).toBe(true);
    const bad = businessCalendarSchema.safeParse({ ...office, timezone: 'Mars/Olympus', weekly: { ...office.weekly, mon: [['17:00', '09:00']] }, holidays: ['someday'] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['holidays.0', 'timezone', 'weekly.mon.0']);
  });
});
