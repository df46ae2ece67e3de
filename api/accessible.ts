import { rulesToCondition } from '@casl/ability/extra';
import type { Action, AppAbility, SubjectName } from '../domain/ability.js';

export type Where = Record<string, unknown>;

/** `{ 'lead.team': x }` becomes `{ lead: { team: x } }`, the shape MikroORM filters take. */
function nestDottedKeys(conditions: Record<string, unknown>): Where {
  const where: Where = {};
  for (const [key, value] of Object.entries(conditions)) {
    const path = key.split('.');
    let target = where;
    for (const part of path.slice(0, -1)) target = (target[part] ??= {}) as Where;
    target[path[path.length - 1] as string] = value;
  }
  return where;
}

/**
 * The rows `ability` may `action` as a MikroORM `where`, built from the same CASL rules the
 * route checks use, so a list query never returns what a single read would refuse.
 * Null means no row at all.
 */
export function accessibleWhere(ability: AppAbility, action: Action, subject: SubjectName): Where | null {
  return rulesToCondition(
    ability.rulesFor(action, subject),
    (rule) => {
      const where = nestDottedKeys((rule.conditions ?? {}) as Record<string, unknown>);
      return rule.inverted ? { $not: where } : where;
    },
    {
      and: (conditions) => ({ $and: conditions }),
      or: (conditions) => ({ $or: conditions }),
      empty: () => ({}),
    },
  );
}
