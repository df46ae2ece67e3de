import { PolicySchema, PolicyVersionSchema, TeamSchema, UserSchema, type BusinessHours } from '../../db/entities.js';
import type { MikroORM } from '../../db/orm.js';
import { DEMO_PASSWORD } from '../../db/seeders/DemoSeeder.js';
import { weekdays } from '../../domain/businessHours.js';
import { defaultPolicyRules, type PolicyRules } from '../../domain/policy.js';

export interface BenchTeam {
  id: string;
  name: string;
  policyId: string;
  manager: { id: string; email: string };
  reps: { id: string; email: string }[];
}

/** Open around the clock, so assignment, notices and clocks never wait for a shift to start. */
const allHours: BusinessHours = { weekly: Object.fromEntries(weekdays.map((day) => [day, [['00:00', '24:00']]])) as BusinessHours['weekly'], holidays: [] };

/**
 * Wall-clock rules (no business hours, no quiet hours) so every deadline is predictable; nothing
 * happens after first contact. `escalation` decides what the first-contact clock does.
 */
export function wallClockRules(firstContactSla: string, escalation: PolicyRules['escalation']): PolicyRules {
  return {
    ...defaultPolicyRules,
    businessHoursOnly: false,
    firstContactSla,
    escalation,
    cadence: [],
    onCadenceEnd: 'keep_open',
    quietHours: { start: '00:00', end: '00:00' },
  };
}

/**
 * Teams of reps who take leads and are told by email (sandboxed), a manager each, and a policy.
 * Capacity is set high: a bench sends thousands of leads that nobody works, and a rep at capacity
 * would send them to the queue, which is another scenario.
 */
export async function createBenchTeams(
  orm: MikroORM,
  options: { prefix: string; teams: number; reps: number; rules: PolicyRules; notifyBy?: ('sms' | 'email')[] },
): Promise<BenchTeam[]> {
  const em = orm.em.fork();
  // Everyone signs in with the demo password: copy the demo admin's hash rather than hash again.
  const { passwordHash } = await em.findOneOrFail(UserSchema, { email: 'admin@leadline.test' }, { fields: ['passwordHash'] });
  const made = [];
  for (let t = 1; t <= options.teams; t++) {
    const slug = `${options.prefix}${t}`.toLowerCase();
    const team = em.create(TeamSchema, { name: `${options.prefix} ${t}`, timezone: 'America/New_York', businessHours: allHours });
    const manager = em.create(UserSchema, { email: `${slug}.manager@bench.test`, name: `${options.prefix} ${t} Manager`, role: 'manager', team, passwordHash, notifyBy: [] });
    const reps = Array.from({ length: options.reps }, (_, r) =>
      em.create(UserSchema, { email: `${slug}.rep${r + 1}@bench.test`, name: `${options.prefix} ${t} Rep ${r + 1}`, role: 'staff', team, passwordHash, notifyBy: options.notifyBy ?? ['email'], capacity: 1_000_000 }),
    );
    const policy = em.create(PolicySchema, { team, name: 'Bench', currentVersion: 1 });
    em.create(PolicyVersionSchema, { policy, version: 1, rules: options.rules });
    team.manager = manager;
    team.policy = policy;
    made.push({ team, manager, reps, policy });
  }
  await em.flush();
  return made.map(({ team, manager, reps, policy }) => ({
    id: team.id,
    name: team.name,
    policyId: policy.id,
    manager: { id: manager.id, email: manager.email },
    reps: reps.map((rep) => ({ id: rep.id, email: rep.email })),
  }));
}

/** Signs in over HTTP and returns the Bearer header value. */
export async function login(apiUrl: string, email: string): Promise<string> {
  const res = await fetch(`${apiUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: DEMO_PASSWORD }) });
  if (!res.ok) throw new Error(`login ${email}: ${res.status} ${await res.text()}`);
  return `Bearer ${((await res.json()) as { token: string }).token}`;
}

/** POST /api/leads; the lead id, or an error with the status and body. */
export async function postLead(apiUrl: string, token: string, teamId: string, n: string): Promise<string> {
  const res = await fetch(`${apiUrl}/api/leads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: token },
    body: JSON.stringify({ name: `Bench Lead ${n}`, email: `lead-${n}@bench.test`, source: 'bench', teamId }),
  }).catch((error: unknown) => {
    // undici says "fetch failed"; what failed is in the cause.
    throw new Error(`POST /api/leads: ${String(error)}: ${String((error as Error).cause)}`);
  });
  if (res.status !== 201) throw new Error(`POST /api/leads: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { lead: { id: string } }).lead.id;
}
