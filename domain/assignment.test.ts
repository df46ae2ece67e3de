import { describe, expect, it } from '@jest/globals';
import { pickAssignee, type AssignmentOptions, type AssignmentPerson } from './assignment.js';
import type { BusinessCalendar } from './businessHours.js';

const now = new Date('2026-11-23T15:00:00Z'); // Monday 10:00 in New York
const nineToFive: [string, string][] = [['09:00', '17:00']];
const weekdays = (ranges: [string, string][]): BusinessCalendar['weekly'] => ({ mon: ranges, tue: ranges, wed: ranges, thu: ranges, fri: ranges, sat: [], sun: [] });
const teamHours: BusinessCalendar = { timezone: 'America/New_York', weekly: weekdays(nineToFive), holidays: [] };

const person = (userId: string, overrides: Partial<AssignmentPerson> = {}): AssignmentPerson => ({
  userId,
  name: userId,
  active: true,
  capacity: 10,
  openLeads: 0,
  outOfOfficeFrom: null,
  outOfOfficeUntil: null,
  calendar: teamHours,
  weight: 1,
  rotationPass: 0,
  lastAssignedAt: null,
  ...overrides,
});
const options: AssignmentOptions = { strategy: 'round_robin', respectCapacity: true, respectWorkingHours: true, exclude: [], rotationPass: 0, now };

/** Runs `count` assignments the way the activity does, storing the rotation state each time. */
function simulate(people: AssignmentPerson[], count: number, overrides: Partial<AssignmentOptions> = {}) {
  let teamPass = overrides.rotationPass ?? 0;
  const counts = Object.fromEntries(people.map((p) => [p.userId, 0]));
  for (let i = 0; i < count; i++) {
    const pick = pickAssignee(people, { ...options, ...overrides, rotationPass: teamPass, now: new Date(now.getTime() + i) });
    const chosen = people.find((p) => p.userId === pick.chosen)!;
    chosen.rotationPass = pick.rotation!.chosenPass;
    chosen.lastAssignedAt = new Date(now.getTime() + i);
    chosen.openLeads += 1;
    teamPass = Math.max(teamPass, pick.rotation!.teamPass);
    counts[chosen.userId]! += 1;
  }
  return counts;
}

describe('round robin', () => {
  it('gives the lead to the lowest rotation position, then whoever waited longest, and says why', () => {
    const pick = pickAssignee(
      [person('a', { rotationPass: 1 }), person('b', { rotationPass: 1, lastAssignedAt: new Date('2026-11-23T13:00:00Z') }), person('c', { rotationPass: 1, lastAssignedAt: new Date('2026-11-23T14:00:00Z') })],
      options,
    );
    expect(pick.chosen).toBe('a');
    expect(pick.candidates.map((c) => c.reason)).toEqual(['next in round_robin', 'eligible, position 2', 'eligible, position 3']);
    expect(pick.rotation).toEqual({ chosenPass: 2, teamPass: 1 });
  });

  it('spreads many leads within one of even', () => {
    const counts = simulate(['a', 'b', 'c'].map((id) => person(id, { capacity: 1000 })), 500);
    expect(Math.max(...Object.values(counts)) - Math.min(...Object.values(counts))).toBeLessThanOrEqual(1);
  });

  it('follows the weights, within one lead at every point of the run', () => {
    const people = [person('double', { weight: 2, capacity: 1000 }), person('single', { capacity: 1000 }), person('triple', { weight: 3, capacity: 1000 })];
    for (let n = 1; n <= 120; n++) {
      const counts = simulate(people.map((p) => ({ ...p })), n);
      for (const p of people) expect(Math.abs(counts[p.userId]! - (n * p.weight) / 6)).toBeLessThanOrEqual(1);
    }
  });

  it('lets someone back from leave rejoin where the rotation is, instead of taking every lead', () => {
    const back = person('back', { rotationPass: 2 });
    const counts = simulate([back, person('a', { rotationPass: 40 }), person('b', { rotationPass: 40 })], 30, { rotationPass: 40 });
    expect(counts).toEqual({ back: 10, a: 10, b: 10 });
  });

  it('does not reset when someone joins the team', () => {
    const people = [person('a', { capacity: 100 }), person('b', { capacity: 100 })];
    simulate(people, 10);
    const counts = simulate([...people, person('new', { capacity: 100 })], 30, { rotationPass: 4 });
    // The newcomer starts at the rotation's position: at most one lead ahead, not a flood of catch-up.
    expect(counts).toEqual({ a: 10, b: 9, new: 11 });
  });
});

describe('eligibility', () => {
  it('skips people who are inactive, away, off shift, full or who already had the lead, and says why', () => {
    const nights: BusinessCalendar = { ...teamHours, weekly: weekdays([['20:00', '24:00']]) };
    const pick = pickAssignee(
      [
        person('inactive', { active: false }),
        person('away', { outOfOfficeFrom: new Date('2026-11-23T00:00:00Z'), outOfOfficeUntil: new Date('2026-11-24T00:00:00Z') }),
        person('back', { outOfOfficeFrom: new Date('2026-11-20T00:00:00Z'), outOfOfficeUntil: new Date('2026-11-23T12:00:00Z') }),
        person('night', { calendar: nights }),
        person('full', { capacity: 2, openLeads: 2 }),
        person('before', {}),
      ],
      { ...options, exclude: ['before'] },
    );
    expect(pick.chosen).toBe('back');
    expect(Object.fromEntries(pick.candidates.map((c) => [c.userId, c.reason]))).toEqual({
      inactive: 'inactive',
      away: 'out of office',
      back: 'next in round_robin',
      night: 'off shift',
      full: 'at capacity (2/2 open leads)',
      before: 'already had this lead',
    });
  });

  it('ignores capacity and shifts when the policy says so', () => {
    const evening = new Date('2026-11-24T02:00:00Z');
    expect(pickAssignee([person('full', { capacity: 1, openLeads: 5 })], { ...options, respectCapacity: false }).chosen).toBe('full');
    expect(pickAssignee([person('home')], { ...options, now: evening }).chosen).toBeNull();
    expect(pickAssignee([person('home')], { ...options, now: evening, respectWorkingHours: false }).chosen).toBe('home');
  });

  it('least loaded picks the fewest open leads, then the rotation', () => {
    const pick = pickAssignee(
      [person('busy', { openLeads: 4 }), person('light', { openLeads: 1, rotationPass: 3 }), person('light2', { openLeads: 1, rotationPass: 2 })],
      { ...options, strategy: 'least_loaded' },
    );
    expect(pick.chosen).toBe('light2');
  });
});

describe('when nobody is eligible', () => {
  it('returns nobody, and the next moment a clock makes someone eligible', () => {
    const evening = new Date('2026-11-23T23:00:00Z'); // Monday 18:00 in New York
    const pick = pickAssignee([person('a'), person('b', { outOfOfficeFrom: new Date('2026-11-20T00:00:00Z'), outOfOfficeUntil: new Date('2026-11-24T16:00:00Z') })], { ...options, now: evening });
    expect(pick.chosen).toBeNull();
    expect(pick.rotation).toBeNull();
    expect(pick.nextEligibleAt).toEqual(new Date('2026-11-24T14:00:00Z')); // Tuesday 09:00
  });

  it('waits for a shift after the leave ends, not one that opens during it', () => {
    const pick = pickAssignee([person('b', { outOfOfficeFrom: new Date('2026-11-20T00:00:00Z'), outOfOfficeUntil: new Date('2026-11-24T23:00:00Z') })], options);
    expect(pick.nextEligibleAt).toEqual(new Date('2026-11-25T14:00:00Z'));
  });

  it('has no time to offer when only people can change it (full, inactive, open-ended leave)', () => {
    const pick = pickAssignee(
      [person('full', { capacity: 1, openLeads: 1 }), person('gone', { active: false }), person('leave', { outOfOfficeFrom: now, outOfOfficeUntil: null })],
      options,
    );
    expect(pick).toMatchObject({ chosen: null, nextEligibleAt: null });
    expect(pickAssignee([], options).chosen).toBeNull();
  });
});
