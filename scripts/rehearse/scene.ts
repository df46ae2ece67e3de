import { weekdays, type BusinessCalendar } from '../../domain/businessHours.js';
import type { PolicyRules } from '../../domain/policy.js';
import type { LeadRecord } from '../chaos/driver.js';
import type { Rng } from '../chaos/rng.js';
import type { ChaosPerson, ChaosTeam, LeadKind } from '../chaos/scenario.js';
import type { ApiClient } from './api.js';

/** The demo admin that the old release's `migrate --seed` puts in place; every rehearsal user shares its password. */
export const ADMIN = 'admin@leadline.test';
export const PASSWORD = 'leadline';

type Weekly = BusinessCalendar['weekly'];
const allDay: Weekly = Object.fromEntries(weekdays.map((day) => [day, [['00:00', '24:00']]])) as Weekly;

/**
 * Hours (UTC) that are closed now and open from `from` on: that day from its minute, every other day but
 * today all day. A notice to someone on them waits until `from`.
 */
export function hoursFrom(from: Date, now = new Date()): BusinessCalendar['weekly'] {
  const day = (at: Date) => weekdays[(at.getUTCDay() + 6) % 7]!;
  const clock = from.toISOString().slice(11, 16);
  return Object.fromEntries(
    weekdays.map((d) => [d, d === day(from) ? [[clock, '24:00']] : d === day(now) ? [] : [['00:00', '24:00']]]),
  ) as Weekly;
}

/**
 * What each lead is there to show, by where it is when the workers are switched:
 * - `holder` takes the only place in the full team; `queued` waits behind it until capacity is freed after the switch.
 * - `paused_first` is paused while it waits for first contact, `paused_cadence` partway through its cadence;
 *   both are resumed after the switch.
 * - `deferred` leads belong to reps off shift until after the switch, on a policy whose notices wait for
 *   working hours: their assignment and reminder notices are held when the old workers stop. They stay
 *   open until those hours begin (a lead that closes first takes its held notices with it).
 * - `opted_out` comes from a phone that texted STOP to the old release and is contacted after the switch:
 *   the new release must suppress every SMS of its cadence.
 * - `stream` leads come in at a steady pace before the switch and are contacted, converted or lost on
 *   either side of it; `wave_a` is timed to be partway through escalation or cadence at the switch, and
 *   `wave_b` to be waiting for first contact.
 */
export type Role = 'holder' | 'queued' | 'paused_first' | 'paused_cadence' | 'deferred' | 'opted_out' | 'stream' | 'wave_a' | 'wave_b';

/** Milliseconds after the lead is created (before the switch) or after the new API is up (after it). */
export type Action = { at: number; do: 'contact' | 'convert' | 'lose' | 'pause' | 'resume' | 'free_capacity' };

export interface RehearsalLead {
  role: Role;
  team: ChaosTeam;
  /** What runChecks reads: the plan's kind and phone, and what the API was asked and answered. */
  record: LeadRecord;
  before: Action[];
  after: Action[];
}

export interface RehearsalTeams {
  /** Four reps on shift with room to spare. */
  open: ChaosTeam;
  /** One rep who takes one lead at a time. */
  full: ChaosTeam;
  /** Reps off shift until the rehearsal sets their hours; their notices wait (`noticesRespectWorkingHours`). */
  later: ChaosTeam;
}

const channels: ('sms' | 'email')[][] = [['email'], ['sms'], ['sms', 'email']];

/** Creates the teams, their people and their policies through the API, as an admin would. */
export async function createTeams(api: ApiClient, rules: PolicyRules, phones: () => string): Promise<RehearsalTeams> {
  const team = async (name: string, reps: number, capacity: number, policy: PolicyRules): Promise<ChaosTeam> => {
    const created = await api.as(ADMIN, 'POST', '/api/teams', { name, timezone: 'UTC', businessHours: { weekly: allDay, holidays: [] } });
    const teamId = (created.body.team as { id: string }).id;
    const slug = name.toLowerCase().replace(/\W+/g, '-');
    const person = async (role: 'manager' | 'staff', label: string, i: number): Promise<ChaosPerson> => {
      const notifyBy = channels[i % channels.length]!;
      const body = { email: `${slug}.${label}@leadline.test`, name: `${name} ${label}`, role, teamId, phone: phones(), password: PASSWORD, capacity, notifyBy };
      const user = (await api.as(ADMIN, 'POST', '/api/users', body)).body.user as { id: string; email: string; notifyBy: ('sms' | 'email')[] };
      return { id: user.id, email: user.email, notifyBy: user.notifyBy };
    };
    const manager = await person('manager', 'manager', 0);
    const staff: ChaosPerson[] = [];
    for (let i = 1; i <= reps; i++) staff.push(await person('staff', `rep${i}`, i));
    const policies = (await api.as(ADMIN, 'GET', '/api/policies', undefined)).body.items as { id: string; team: { id: string } }[];
    const policyId = policies.find((p) => p.team.id === teamId)!.id;
    await api.as(ADMIN, 'PUT', `/api/policies/${policyId}`, { rules: policy });
    return { id: teamId, name, manager, reps: staff };
  };
  return {
    open: await team('Rehearsal Open', 4, 1_000, rules),
    full: await team('Rehearsal Full', 1, 1, rules),
    later: await team('Rehearsal Later', 2, 1_000, { ...rules, noticesRespectWorkingHours: true }),
  };
}

/**
 * The leads and what is done to them on each side of the switch, with timings drawn from the seed. The
 * policy unit `u` is the gap between steps: escalations fall 2–5 u after assignment, cadence steps 1–5 u
 * after contact and the close 6 u after it.
 */
export function planLeads(rng: Rng, count: number, teams: RehearsalTeams, u: number, phones: () => string): RehearsalLead[] {
  /** A moment between `from` and `to` policy units, in milliseconds. */
  const within = (from: number, to: number) => Math.round((from + rng.next() * (to - from)) * u * 1000);
  const leads: RehearsalLead[] = [];
  const add = (role: Role, team: ChaosTeam, kind: LeadKind, before: Action[] = [], after: Action[] = []) => {
    const index = leads.length;
    const plan = {
      index,
      kind,
      team: [teams.open, teams.full, teams.later].indexOf(team),
      name: `Rehearsal ${role} ${index + 1}`,
      email: `lead${index + 1}@rehearsal.example.com`,
      phone: phones(),
      contactAfter: [...before, ...after].find((a) => a.do === 'contact')?.at ?? null,
      closeAfter: [...before, ...after].find((a) => a.do === 'convert' || a.do === 'lose')?.at ?? null,
      stopAfter: null,
    };
    leads.push({ role, team, before, after, record: { plan, leadId: null, createdOnRetry: false, contactTried: false, contacted: false, close: null, stop: null } });
  };

  add('holder', teams.full, 'idle');
  add('queued', teams.full, 'idle', [], [{ at: 0, do: 'free_capacity' }]);
  add('paused_first', teams.open, 'idle', [{ at: 0, do: 'pause' }], [{ at: within(0.5, 1), do: 'resume' }]);
  add('paused_cadence', teams.open, 'cadence', [{ at: 0, do: 'contact' }, { at: 1.5 * u * 1000, do: 'pause' }], [{ at: within(0.5, 1), do: 'resume' }]);
  add('deferred', teams.later, 'idle');
  add('deferred', teams.later, 'idle');
  add('opted_out', teams.open, 'opted_out', [], [{ at: within(0, 2), do: 'contact' }]);

  const streamKinds: [LeadKind, () => Action[], () => Action[]][] = [
    ['cadence', () => [{ at: within(0, 3), do: 'contact' }], () => []],
    ['cadence', () => [], () => [{ at: within(0, 3), do: 'contact' }]],
    ['idle', () => [], () => []],
    ['convert', () => [{ at: within(0, 1), do: 'contact' }], () => [{ at: within(0.5, 3), do: 'convert' }]],
    ['convert', () => [{ at: within(0.3, 1), do: 'contact' }, { at: within(1.5, 2.5), do: 'convert' }], () => []],
    ['lose', () => [], () => [{ at: within(0, 3), do: 'lose' }]],
    ['cadence', () => [{ at: within(0, 3), do: 'contact' }], () => []],
    ['lose', () => [{ at: within(0.5, 2), do: 'lose' }], () => []],
    ['idle', () => [], () => []],
    ['cadence', () => [], () => [{ at: within(0, 3), do: 'contact' }]],
  ];
  const waves = 5;
  for (let i = 0; leads.length < count - waves; i++) {
    const [kind, before, after] = streamKinds[i % streamKinds.length]!;
    add('stream', teams.open, kind, before(), after());
  }
  add('wave_a', teams.open, 'idle');
  add('wave_a', teams.open, 'cadence', [{ at: 0, do: 'contact' }]);
  add('wave_a', teams.open, 'convert', [{ at: 0, do: 'contact' }], [{ at: within(0.5, 3), do: 'convert' }]);
  add('wave_b', teams.open, 'idle');
  add('wave_b', teams.open, 'cadence', [], [{ at: within(0, 3), do: 'contact' }]);
  return leads;
}
