import { describe, expect, it } from '@jest/globals';
import type { BusinessCalendar } from './businessHours.js';
import { earliest, escalationBreached } from './escalation.js';
import { overdueEscalations, pauseClock, startClock, type LeadPlanState } from './planner.js';
import { defaultPolicyRules, type PolicyRules } from './policy.js';

const start = Date.UTC(2026, 10, 23, 14, 0);
const minutes = (n: number) => start + n * 60_000;
const iso = (at: number) => new Date(at).toISOString();
const wallTime: PolicyRules = { ...defaultPolicyRules, businessHoursOnly: false };
const calendar: BusinessCalendar = { timezone: 'UTC', weekly: { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] }, holidays: [] };
const waiting = (overrides: Partial<LeadPlanState> = {}): LeadPlanState => ({
  phase: 'first_contact',
  clock: startClock(start),
  escalationsDone: 0,
  cadenceDone: 0,
  timezone: 'UTC',
  ...overrides,
});

describe('the deadline decides whether a step is a breach', () => {
  it('counts a step as breached when the lead was never contacted', () => {
    expect(escalationBreached(iso(minutes(15)), null)).toBe(true);
  });

  it('does not count a step whose deadline the contact met, to the millisecond', () => {
    expect(escalationBreached(iso(minutes(15)), iso(minutes(15)))).toBe(false);
    expect(escalationBreached(minutes(15), minutes(14))).toBe(false);
  });

  it('counts a step whose deadline passed before the contact, however soon after', () => {
    expect(escalationBreached(iso(minutes(15)), iso(minutes(15) + 1))).toBe(true);
  });

  it('takes the earlier of two contact times, either of which may be missing', () => {
    expect(earliest(iso(minutes(2)), iso(minutes(1)))).toBe(iso(minutes(1)));
    expect(earliest(undefined, iso(minutes(1)))).toBe(iso(minutes(1)));
    expect(earliest(iso(minutes(1)), null)).toBe(iso(minutes(1)));
    expect(earliest(undefined, undefined)).toBeNull();
  });
});

describe('overdue escalation steps, as a first contact finds them', () => {
  it('lists every step not yet run whose deadline has passed, and none still ahead', () => {
    const overdue = overdueEscalations(waiting({ escalationsDone: 1 }), wallTime, calendar, minutes(45));
    expect(overdue.map((s) => [s.step, s.action, s.at])).toEqual([[1, 'notify_manager', minutes(30)]]);
  });

  it('includes a step that falls due at the very moment of contact', () => {
    expect(overdueEscalations(waiting(), wallTime, calendar, minutes(15)).map((s) => s.step)).toEqual([0]);
  });

  it('finds nothing overdue while the clock is paused, since paused time does not count', () => {
    const paused = waiting({ clock: pauseClock(startClock(start), minutes(10), wallTime, calendar) });
    expect(overdueEscalations(paused, wallTime, calendar, minutes(90))).toEqual([]);
  });

  it('finds nothing overdue for a queued lead or one already in its cadence', () => {
    expect(overdueEscalations(waiting({ phase: 'queued' }), wallTime, calendar, minutes(90))).toEqual([]);
    expect(overdueEscalations(waiting({ phase: 'cadence' }), wallTime, calendar, minutes(90))).toEqual([]);
  });
});
