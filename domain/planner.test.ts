import { describe, expect, it } from '@jest/globals';
import type { BusinessCalendar } from './businessHours.js';
import { afterQuietHours, clockElapsed, pauseClock, planLead, resumeClock, startClock, type LeadPlanState } from './planner.js';
import { defaultPolicyRules, type PolicyRules } from './policy.js';

const start = Date.UTC(2026, 10, 23, 14, 0); // Monday 09:00 in New York
const minutes = (n: number) => start + n * 60_000;
const wallTime: PolicyRules = { ...defaultPolicyRules, businessHoursOnly: false };
const nineToFive: [string, string][] = [['09:00', '17:00']];
const calendar: BusinessCalendar = {
  timezone: 'America/New_York',
  weekly: { mon: nineToFive, tue: nineToFive, wed: nineToFive, thu: nineToFive, fri: nineToFive, sat: [], sun: [] },
  holidays: [],
};
const uncontacted = (overrides: Partial<LeadPlanState> = {}): LeadPlanState => ({
  phase: 'first_contact',
  clock: startClock(start),
  escalationsDone: 0,
  cadenceDone: 0,
  timezone: 'America/New_York',
  ...overrides,
});
const times = (plan: ReturnType<typeof planLead>) => plan.deadlines.map((d) => [d.kind, d.at]);

describe('the first-contact clock', () => {
  it('lists the SLA and every escalation step, each counted from the clock start, and names the next step', () => {
    const plan = planLead(uncontacted(), wallTime, calendar, minutes(5));
    expect(times(plan)).toEqual([
      ['first_contact_sla', minutes(15)],
      ['escalation', minutes(15)],
      ['escalation', minutes(30)],
      ['escalation', minutes(60)],
    ]);
    expect(plan.next).toEqual({ kind: 'escalation', step: 0, action: 'remind_assignee', at: minutes(15) });
  });

  it('drops the SLA once it has passed and the steps already run', () => {
    const plan = planLead(uncontacted({ escalationsDone: 2 }), wallTime, calendar, minutes(40));
    expect(times(plan)).toEqual([['escalation', minutes(60)]]);
    expect(planLead(uncontacted({ escalationsDone: 3 }), wallTime, calendar, minutes(70)).next).toBeNull();
  });

  it('counts only open hours when the policy says so: Friday 16:55 with 15m is due Monday 09:10', () => {
    const friday1655 = Date.UTC(2026, 10, 27, 21, 55);
    const monday = (hour: number, minute: number) => Date.UTC(2026, 10, 30, hour + 5, minute);
    const plan = planLead(uncontacted({ clock: startClock(friday1655) }), defaultPolicyRules, calendar, friday1655);
    expect(times(plan)).toEqual([
      ['first_contact_sla', monday(9, 10)],
      ['escalation', monday(9, 10)],
      ['escalation', monday(9, 25)],
      ['escalation', monday(9, 55)],
    ]);
  });
});

describe('pausing the clock', () => {
  it('does not count the time paused and moves every deadline by it', () => {
    let clock = startClock(start);
    clock = pauseClock(clock, minutes(5), wallTime, calendar);
    expect(clockElapsed(clock, minutes(50), wallTime, calendar)).toBe(5 * 60_000);
    expect(planLead(uncontacted({ clock }), wallTime, calendar, minutes(50)).deadlines.every((d) => d.at === null)).toBe(true);
    clock = resumeClock(clock, minutes(45));
    const plan = planLead(uncontacted({ clock }), wallTime, calendar, minutes(45));
    expect(times(plan)).toEqual([
      ['first_contact_sla', minutes(55)],
      ['escalation', minutes(55)],
      ['escalation', minutes(70)],
      ['escalation', minutes(100)],
    ]);
  });

  it('counts a pause in business time, so a pause over the weekend moves nothing but the pause', () => {
    const friday1650 = Date.UTC(2026, 10, 27, 21, 50);
    let clock = pauseClock(startClock(friday1650), friday1650 + 5 * 60_000, defaultPolicyRules, calendar);
    clock = resumeClock(clock, Date.UTC(2026, 10, 30, 15, 0)); // Monday 10:00
    expect(planLead(uncontacted({ clock }), defaultPolicyRules, calendar, Date.UTC(2026, 10, 30, 15, 0)).deadlines[0]?.at).toBe(
      Date.UTC(2026, 10, 30, 15, 10),
    );
  });

  it('ignores a second pause and a resume of a running clock', () => {
    const paused = pauseClock(startClock(start), minutes(5), wallTime, calendar);
    expect(pauseClock(paused, minutes(9), wallTime, calendar)).toEqual(paused);
    const running = startClock(start);
    expect(resumeClock(running, minutes(9))).toEqual(running);
  });
});

describe('the cadence', () => {
  const contacted = (overrides: Partial<LeadPlanState> = {}) => uncontacted({ phase: 'cadence', ...overrides });
  const day = 86_400_000;

  it('plans each step from first contact and closes as unresponsive a grace period after the last', () => {
    const plan = planLead(contacted(), { ...wallTime, quietHours: { start: '00:00', end: '00:00' } }, calendar, start);
    expect(plan.deadlines.map((d) => [d.kind, d.kind === 'cadence' ? d.label : null, d.at])).toEqual([
      ['cadence', 'Follow-up call', start + day],
      ['cadence', 'followup_sms', start + 2 * day],
      ['cadence', 'followup_email', start + 4 * day],
      ['cadence', 'Last attempt', start + 7 * day],
      ['cadence_end', null, start + 8 * day],
    ]);
  });

  it('keeps the lead open at cadence end when the policy says so', () => {
    const plan = planLead(contacted({ cadenceDone: 4 }), { ...wallTime, onCadenceEnd: 'keep_open' }, calendar, start);
    expect(plan).toEqual({ deadlines: [], next: null });
  });

  it('defers messages to the lead out of quiet hours, in the lead timezone, but not tasks', () => {
    const lateEvening = Date.UTC(2026, 10, 24, 3, 30); // 22:30 in New York
    const rules: PolicyRules = {
      ...wallTime,
      cadence: [
        { after: '0s', action: 'sms', template: 'followup_sms' },
        { after: '0s', action: 'task', title: 'Call' },
      ],
    };
    const plan = planLead(contacted({ clock: startClock(lateEvening) }), rules, calendar, lateEvening);
    expect(plan.next).toMatchObject({ kind: 'cadence', action: 'sms', at: Date.UTC(2026, 10, 24, 13, 0), quietHoursDeferred: true });
    expect(plan.deadlines.find((d) => d.kind === 'cadence' && d.action === 'task')?.at).toBe(lateEvening);
  });
});

describe('quiet hours', () => {
  const quiet = { start: '21:00', end: '08:00' };
  const ny = (day: number, hour: number, minute = 0) => Date.UTC(2026, 10, day, hour + 5, minute);
  it.each([
    ['before they start', ny(23, 20, 59), ny(23, 20, 59)],
    ['at their start', ny(23, 21), ny(24, 8)],
    ['after midnight', ny(24, 2), ny(24, 8)],
    ['at their end', ny(24, 8), ny(24, 8)],
  ])('leaves or moves a moment %s', (_name, at, expected) => {
    expect(afterQuietHours(at, quiet, 'America/New_York')).toBe(expected);
  });

  it('handles quiet hours within one day and none at all', () => {
    expect(afterQuietHours(ny(23, 12, 30), { start: '12:00', end: '13:00' }, 'America/New_York')).toBe(ny(23, 13));
    expect(afterQuietHours(ny(23, 12, 30), { start: '00:00', end: '00:00' }, 'America/New_York')).toBe(ny(23, 12, 30));
  });

  it('uses the wall clock of the timezone across a DST change', () => {
    // 2026-03-08: New York springs forward; 02:30 does not exist and 08:00 is UTC-4.
    expect(afterQuietHours(Date.UTC(2026, 2, 8, 6, 0), quiet, 'America/New_York')).toBe(Date.UTC(2026, 2, 8, 12, 0));
  });
});
