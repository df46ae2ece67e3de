/**
 * The signed-in user's CASL ability. The API sends its rules (the same `domain/ability.ts` it decides
 * with), so the app hides exactly the actions the server would refuse.
 */
import { abilitiesPlugin, useAbility } from '@casl/vue';
import type { App } from 'vue';
import { abilityFromRules, type AppAbility, type LeadSubject, type TaskSubject, type TeamSubject, type UserSubject } from '../../domain/ability';
import type { InboxTask, Lead, Team, User } from './types';

/** Empty until a session is loaded; the session store calls `ability.update(rules)`. */
export const ability: AppAbility = abilityFromRules([]);

export function installAbility(app: App): void {
  app.use(abilitiesPlugin, ability);
}

/** The app's ability in a component; `can()` re-renders when the rules change. */
export function useAppAbility(): AppAbility {
  return useAbility<AppAbility>();
}

/** A lead as CASL checks it: relations as ids, like `api/subjects.ts` on the server. */
export function leadSubject(lead: Pick<Lead, 'id' | 'team' | 'assignee'>): LeadSubject {
  return { kind: 'Lead', id: lead.id, team: lead.team.id, assignee: lead.assignee?.id ?? null };
}

/** A task as CASL checks it, like `taskSubject` in `api/subjects.ts`. */
export function taskSubject(task: Pick<InboxTask, 'id' | 'teamId' | 'assignee'>): TaskSubject {
  return { kind: 'Task', id: task.id, team: task.teamId, assignee: task.assignee?.id ?? null };
}

/** A user as CASL checks it, like `userSubject` in `api/subjects.ts`. */
export function userSubject(user: Pick<User, 'id' | 'teamId' | 'role'>): UserSubject {
  return { kind: 'User', id: user.id, team: user.teamId, role: user.role };
}

export function teamSubject(team: Pick<Team, 'id'>): TeamSubject {
  return { kind: 'Team', id: team.id };
}
