import type { EntityManager } from '@mikro-orm/core';
import { Seeder } from '@mikro-orm/seeder';
import { hashPassword } from '../../api/passwords.js';
import type { Role } from '../../domain/lead.js';
import { defaultPolicyRules } from '../../domain/policy.js';
import {
  PolicySchema,
  PolicyVersionSchema,
  TeamSchema,
  UserSchema,
  type BusinessHours,
  type Team,
} from '../entities.js';

export const DEMO_PASSWORD = 'leadline';

const weekdays = (ranges: [string, string][]): BusinessHours['weekly'] => ({
  mon: ranges, tue: ranges, wed: ranges, thu: ranges, fri: ranges, sat: [], sun: [],
});

interface DemoUser { email: string; name: string; role: Role; team?: string; phone?: string }

export const demoTeams = [
  { name: 'North', timezone: 'America/New_York', businessHours: { weekly: weekdays([['09:00', '17:00']]), holidays: [] } },
  { name: 'South', timezone: 'America/Chicago', businessHours: { weekly: weekdays([['08:00', '12:00'], ['13:00', '17:00']]), holidays: [] } },
] satisfies { name: string; timezone: string; businessHours: BusinessHours }[];

export const demoUsers: DemoUser[] = [
  { email: 'admin@leadline.test', name: 'Ada Admin', role: 'admin' },
  { email: 'ops@leadline.test', name: 'Otto Ops', role: 'ops' },
  { email: 'north.manager@leadline.test', name: 'Nora North', role: 'manager', team: 'North', phone: '+12025550100' },
  { email: 'north.rep1@leadline.test', name: 'Ned Rep', role: 'staff', team: 'North', phone: '+12025550101' },
  { email: 'north.rep2@leadline.test', name: 'Nia Rep', role: 'staff', team: 'North', phone: '+12025550102' },
  { email: 'north.rep3@leadline.test', name: 'Noah Rep', role: 'staff', team: 'North', phone: '+12025550103' },
  { email: 'south.manager@leadline.test', name: 'Sam South', role: 'manager', team: 'South', phone: '+12025550200' },
  { email: 'south.rep1@leadline.test', name: 'Sue Rep', role: 'staff', team: 'South', phone: '+12025550201' },
];

/** Idempotent: creates whatever of the demo teams, users and policies is missing and changes nothing else. */
export class DemoSeeder extends Seeder {
  async run(em: EntityManager): Promise<void> {
    const teams = new Map<string, Team>();
    for (const demo of demoTeams) {
      const team = (await em.findOne(TeamSchema, { name: demo.name })) ?? em.create(TeamSchema, demo);
      teams.set(demo.name, team);
    }
    await em.flush();

    const passwordHash = await hashPassword(DEMO_PASSWORD);
    for (const demo of demoUsers) {
      if (await em.count(UserSchema, { email: demo.email })) continue;
      const team = demo.team ? teams.get(demo.team) : undefined;
      const user = em.create(UserSchema, {
        email: demo.email,
        name: demo.name,
        role: demo.role,
        team: team ?? null,
        phone: demo.phone ?? null,
        passwordHash,
      });
      if (team && demo.role === 'manager') team.manager = user;
    }
    await em.flush();

    for (const team of teams.values()) {
      if (team.policy) continue;
      const policy = em.create(PolicySchema, { team, name: 'Default', currentVersion: 1 });
      em.create(PolicyVersionSchema, { policy, version: 1, rules: defaultPolicyRules });
      team.policy = policy;
    }
    await em.flush();
  }
}
