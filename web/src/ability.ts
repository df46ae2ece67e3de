/**
 * The signed-in user's CASL ability. The API sends its rules (the same `domain/ability.ts` it decides
 * with), so the app hides exactly the actions the server would refuse.
 */
import { abilitiesPlugin, useAbility } from '@casl/vue';
import type { App } from 'vue';
import { abilityFromRules, type AppAbility, type LeadSubject } from '../../domain/ability';
import type { Lead } from './types';

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
