import { describe, expect, it } from '@jest/globals';
import { firstContactClock, firstContactDeadline, pendingEscalations } from './escalation.js';
import type { BusinessCalendar } from './businessHours.js';
import { defaultPolicyRules } from './policy.js';

const start = Date.UTC(2026, 10, 23, 14, 0);
const minutes = (n: number) => start + n * 60_000;
const wallTime = { ...defaultPolicyRules, businessHoursOnly: false };
const nineToFive: [string, string][] = [['09:00', '17:00']];
// Monday 2026-11-23 14:00 UTC is 09:00 in New York.
const calendar: BusinessCalendar = {
  timezone: 'America/New_York',
  weekly: { mon: nineToFive, tue: nineToFive, wed: nineToFive, thu: nineToFive, fri: nineToFive, sat: [], sun: [] },
  holidays: [],
};

describe('the first-contact clock', () => {
  it('is due one SLA after the clock starts', () => {
    expect(firstContactDeadline(start, wallTime, calendar)).toBe(minutes(15));
  });

  it('lists every escalation step still ahead, each counted from the clock start', () => {
    expect(pendingEscalations(start, wallTime, calendar, 0)).toEqual([
      { kind: 'escalation', step: 0, action: 'remind_assignee', at: minutes(15) },
      { kind: 'escalation', step: 1, action: 'notify_manager', at: minutes(30) },
      { kind: 'escalation', step: 2, action: 'reassign', at: minutes(60) },
    ]);
  });

  it('skips the steps already run and ends empty', () => {
    expect(pendingEscalations(start, wallTime, calendar, 2)).toEqual([
      { kind: 'escalation', step: 2, action: 'reassign', at: minutes(60) },
    ]);
    expect(pendingEscalations(start, wallTime, calendar, 3)).toEqual([]);
  });
});

describe('the first-contact clock in business hours', () => {
  it('counts only open hours when the policy says so', () => {
    const friday1655 = Date.UTC(2026, 10, 27, 21, 55); // 16:55 in New York
    const monday = (hour: number, minute: number) => Date.UTC(2026, 10, 30, hour + 5, minute);
    expect(firstContactDeadline(friday1655, defaultPolicyRules, calendar)).toBe(monday(9, 10));
    expect(pendingEscalations(friday1655, defaultPolicyRules, calendar, 0).map((d) => d.at)).toEqual([
      monday(9, 10),
      monday(9, 25),
      monday(9, 55),
    ]);
  });
});

describe('what an uncontacted lead waits on', () => {
  it('lists the SLA while it is ahead, then only the escalations, and names the next step', () => {
    const before = firstContactClock(start, minutes(5), wallTime, calendar, 0);
    expect(before.deadlines.map((d) => [d.kind, d.at])).toEqual([
      ['first_contact_sla', minutes(15)],
      ['escalation', minutes(15)],
      ['escalation', minutes(30)],
      ['escalation', minutes(60)],
    ]);
    expect(before.next).toMatchObject({ step: 0, action: 'remind_assignee' });
    const after = firstContactClock(start, minutes(20), wallTime, calendar, 1);
    expect(after.deadlines.map((d) => d.kind)).toEqual(['escalation', 'escalation']);
    expect(after.next).toMatchObject({ step: 1, action: 'notify_manager' });
  });
});

