import { describe, expect, it } from '@jest/globals';
import { pickAssignee, type AssignmentPerson } from './assignment.js';

const now = new Date('2026-11-23T15:00:00Z');
const person = (userId: string, overrides: Partial<AssignmentPerson> = {}): AssignmentPerson => ({
  userId,
  name: userId,
  active: true,
  capacity: 10,
  openLeads: 0,
  outOfOfficeFrom: null,
  outOfOfficeUntil: null,
  lastAssignedAt: null,
  ...overrides,
});
const options = { strategy: 'round_robin' as const, respectCapacity: true, exclude: [], now };

describe('picking an assignee', () => {
  it('round robin gives the lead to whoever was assigned longest ago, never-assigned first', () => {
    const pick = pickAssignee(
      [
        person('a', { lastAssignedAt: new Date('2026-11-23T14:00:00Z') }),
        person('b', { lastAssignedAt: new Date('2026-11-23T13:00:00Z') }),
        person('c'),
      ],
      options,
    );
    expect(pick.chosen).toBe('c');
    expect(pick.candidates.map((c) => c.reason)).toEqual(['eligible, position 3', 'eligible, position 2', 'next in round_robin']);
  });

  it('keeps rotating fairly when it is run over and over', () => {
    const people = ['a', 'b', 'c'].map((id) => person(id));
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 30; i++) {
      const chosen = pickAssignee(people, { ...options, now: new Date(now.getTime() + i) }).chosen!;
      counts[chosen]! += 1;
      people.find((p) => p.userId === chosen)!.lastAssignedAt = new Date(now.getTime() + i);
    }
    expect(counts).toEqual({ a: 10, b: 10, c: 10 });
  });

  it('skips people who are inactive, away, full or who already had the lead, and says why', () => {
    const pick = pickAssignee(
      [
        person('inactive', { active: false }),
        person('away', { outOfOfficeFrom: new Date('2026-11-23T00:00:00Z'), outOfOfficeUntil: new Date('2026-11-24T00:00:00Z') }),
        person('back', { outOfOfficeFrom: new Date('2026-11-20T00:00:00Z'), outOfOfficeUntil: new Date('2026-11-23T12:00:00Z') }),
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
      full: 'at capacity (2/2 open leads)',
      before: 'already had this lead',
    });
  });

  it('ignores capacity when the policy says so', () => {
    expect(pickAssignee([person('full', { capacity: 1, openLeads: 5 })], { ...options, respectCapacity: false }).chosen).toBe('full');
  });

  it('least loaded picks the fewest open leads, then the rotation', () => {
    const pick = pickAssignee(
      [person('busy', { openLeads: 4 }), person('light', { openLeads: 1, lastAssignedAt: now }), person('light2', { openLeads: 1 })],
      { ...options, strategy: 'least_loaded' },
    );
    expect(pick.chosen).toBe('light2');
  });

  it('returns nobody when nobody is eligible', () => {
    expect(pickAssignee([person('x', { active: false })], options).chosen).toBeNull();
    expect(pickAssignee([], options).chosen).toBeNull();
  });
});
