import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { hashPassword } from '../../api/passwords.js';
import { PolicySchema, PolicyVersionSchema, TeamSchema, UserSchema, type BusinessHours } from '../../db/entities.js';
import type { MikroORM } from '../../db/orm.js';
import { weekdays } from '../../domain/businessHours.js';
import type { PolicyRules } from '../../domain/policy.js';
import type { Rng } from './rng.js';

export const PASSWORD = 'chaos-password';

/**
 * The short-duration policy, in units of `step` seconds: wall time, no quiet hours, notices at once.
 * The SLA and four escalations run out 2–5 units after assignment; after contact a cadence of tasks,
 * SMS and email every unit, and a lead that never answers closes as unresponsive a unit after the last.
 */
export function chaosPolicy(step: number): PolicyRules {
  const at = (units: number) => `${units * step}s`;
  return {
    firstContactSla: at(2),
    businessHoursOnly: false,
    escalation: [
      { after: at(2), action: 'remind_assignee' },
      { after: at(3), action: 'notify_manager' },
      { after: at(4), action: 'reassign' },
      { after: at(5), action: 'raise_priority' },
    ],
    cadence: [
      { after: at(1), action: 'task', title: 'Follow-up call' },
      { after: at(2), action: 'sms', template: 'followup_sms' },
      { after: at(3), action: 'email', template: 'followup_email' },
      { after: at(4), action: 'task', title: 'Second call' },
      { after: at(5), action: 'sms', template: 'followup_sms' },
    ],
    onCadenceEnd: 'unresponsive',
    unresponsiveAfter: at(1),
    quietHours: { start: '00:00', end: '00:00' },
    noticesRespectWorkingHours: false,
    assignment: { strategy: 'round_robin', respectCapacity: true, respectWorkingHours: false },
  };
}

const allHours: BusinessHours = { weekly: Object.fromEntries(weekdays.map((day) => [day, [['00:00', '24:00']]])) as BusinessHours['weekly'], holidays: [] };

/** Every rep and manager has a channel, so every notice is a provider call the fakes count. */
const channelMix: ('sms' | 'email')[][] = [['email'], ['sms'], ['sms', 'email'], ['email']];

export interface ChaosPerson {
  id: string;
  email: string;
  notifyBy: ('sms' | 'email')[];
}

export interface ChaosTeam {
  id: string;
  name: string;
  manager: ChaosPerson;
  reps: ChaosPerson[];
}

/** Teams with a manager and reps who are always on shift and never full, on the chaos policy. */
export async function createTeams(orm: MikroORM, count: number, repsPerTeam: number, rules: PolicyRules, phones: () => string): Promise<ChaosTeam[]> {
  const em = orm.em.fork();
  const passwordHash = await hashPassword(PASSWORD);
  const teams: ChaosTeam[] = [];
  for (let t = 1; t <= count; t++) {
    const name = `Chaos ${t}`;
    const team = em.create(TeamSchema, { name, timezone: 'America/New_York', businessHours: allHours });
    const person = (role: 'manager' | 'staff', label: string, i: number) =>
      em.create(UserSchema, {
        email: `chaos${t}.${label}@leadline.test`,
        name: `Chaos ${t} ${label}`,
        role,
        team,
        passwordHash,
        phone: phones(),
        notifyBy: channelMix[(t + i) % channelMix.length]!,
        capacity: 100_000,
      });
    const manager = person('manager', 'manager', 0);
    const reps = Array.from({ length: repsPerTeam }, (_, i) => person('staff', `rep${i + 1}`, i + 1));
    const policy = em.create(PolicySchema, { team, name: `${name} policy`, currentVersion: 1 });
    em.create(PolicyVersionSchema, { policy, version: 1, rules });
    team.manager = manager;
    team.policy = policy;
    await em.flush();
    const view = (u: typeof manager): ChaosPerson => ({ id: u.id, email: u.email, notifyBy: [...u.notifyBy] });
    teams.push({ id: team.id, name, manager: view(manager), reps: reps.map(view) });
  }
  return teams;
}

/**
 * What the driver does with a lead, drawn from the seed:
 * - `idle`: nobody ever calls; every escalation runs and the workflow waits, open, for a signal.
 * - `cadence`: contacted, then never answers: the whole cadence, then unresponsive.
 * - `convert` / `lose`: closed through the API, some before contact and some during the cadence.
 * - `stop`: contacted, then texts STOP mid-cadence (the Twilio webhook): later SMS are suppressed.
 * - `opted_out`: the phone texted STOP before the lead came in: no SMS may ever reach it.
 * - `email_only`: no phone, so the SMS steps are skipped (and recorded as such).
 */
export type LeadKind = 'idle' | 'cadence' | 'convert' | 'lose' | 'stop' | 'opted_out' | 'email_only';

const kindWeights: [LeadKind, number][] = [
  ['idle', 20],
  ['cadence', 28],
  ['convert', 16],
  ['lose', 12],
  ['stop', 9],
  ['opted_out', 8],
  ['email_only', 7],
];

export interface LeadPlan {
  index: number;
  kind: LeadKind;
  team: number;
  name: string;
  email: string;
  phone: string | null;
  /** Milliseconds after the lead was created. */
  contactAfter: number | null;
  /** Milliseconds after contact (or after creation when there is none). */
  closeAfter: number | null;
  stopAfter: number | null;
}

/** Unique, valid US numbers (the API checks them as a user's input is checked). */
export function phoneSource(rng: Rng): () => string {
  const seen = new Set<string>();
  const areas = ['212', '312', '415', '617', '202', '303', '512', '646', '206', '404'];
  return () => {
    for (;;) {
      const raw = `+1${rng.pick(areas)}${rng.int(200, 999)}${String(rng.int(0, 9999)).padStart(4, '0')}`;
      const parsed = parsePhoneNumberFromString(raw);
      if (!parsed?.isValid() || seen.has(parsed.number)) continue;
      seen.add(parsed.number);
      return parsed.number;
    }
  };
}

export function planLeads(rng: Rng, count: number, teams: number, step: number, phones: () => string): LeadPlan[] {
  const total = kindWeights.reduce((sum, [, weight]) => sum + weight, 0);
  const unit = step * 1000;
  const drawKind = (): LeadKind => {
    let roll = rng.next() * total;
    for (const [kind, weight] of kindWeights) {
      roll -= weight;
      if (roll < 0) return kind;
    }
    return 'cadence';
  };
  return Array.from({ length: count }, (_, index): LeadPlan => {
    // The first leads take one of each kind, so even a small run has them all.
    const kind = index < kindWeights.length ? kindWeights[index]![0] : drawKind();
    // Contact anywhere from at once to after the last escalation, so it races each of them.
    const contact = () => rng.int(0, 6 * unit);
    const contactAfter = kind === 'idle' ? null : (kind === 'convert' || kind === 'lose') && rng.chance(0.3) ? null : contact();
    // A close during the cadence, some after it has already ended (then the API refuses with 409).
    const closeAfter = kind === 'convert' || kind === 'lose' ? rng.int(0, 7 * unit) : null;
    const stopAfter = kind === 'stop' ? rng.int(0, 5 * unit) : null;
    return {
      index,
      kind,
      team: index % teams,
      name: `Chaos Lead ${index + 1}`,
      email: `lead${index + 1}@chaos.example.com`,
      phone: kind === 'email_only' ? null : phones(),
      contactAfter,
      closeAfter,
      stopAfter,
    };
  });
}
