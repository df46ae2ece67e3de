/** A person who could take a lead, as the assignment rules see them. */
export interface AssignmentPerson {
  userId: string;
  name: string;
  active: boolean;
  capacity: number;
  openLeads: number;
  outOfOfficeFrom: Date | null;
  outOfOfficeUntil: Date | null;
  lastAssignedAt: Date | null;
}

export interface AssignmentOptions {
  strategy: 'round_robin' | 'least_loaded';
  respectCapacity: boolean;
  /** People who already had this lead; a reassignment skips them. */
  exclude: readonly string[];
  now: Date;
}

export interface RankedCandidate {
  userId: string;
  name: string;
  eligible: boolean;
  reason: string;
  openLeads: number;
  lastAssignedAt: string | null;
}

export interface AssignmentPick {
  chosen: string | null;
  candidates: RankedCandidate[];
}

function skipReason(person: AssignmentPerson, options: AssignmentOptions): string | null {
  if (!person.active) return 'inactive';
  if (options.exclude.includes(person.userId)) return 'already had this lead';
  const away =
    person.outOfOfficeFrom !== null &&
    person.outOfOfficeFrom <= options.now &&
    (person.outOfOfficeUntil === null || options.now < person.outOfOfficeUntil);
  if (away) return 'out of office';
  if (options.respectCapacity && person.openLeads >= person.capacity) {
    return `at capacity (${person.openLeads}/${person.capacity} open leads)`;
  }
  return null;
}

const time = (date: Date | null) => date?.getTime() ?? Number.NEGATIVE_INFINITY;

/**
 * Orders the eligible people by the strategy and picks the first. Round robin gives the lead to
 * whoever was assigned longest ago (never assigned counts as longest), so the rotation survives
 * people joining and leaving the team; least loaded picks the fewest open leads, then the same rotation.
 */
export function pickAssignee(people: readonly AssignmentPerson[], options: AssignmentOptions): AssignmentPick {
  const rotation = (a: AssignmentPerson, b: AssignmentPerson) =>
    time(a.lastAssignedAt) - time(b.lastAssignedAt) || a.name.localeCompare(b.name) || a.userId.localeCompare(b.userId);
  const order =
    options.strategy === 'least_loaded'
      ? (a: AssignmentPerson, b: AssignmentPerson) => a.openLeads - b.openLeads || rotation(a, b)
      : rotation;

  const eligible = people.filter((person) => skipReason(person, options) === null).sort(order);
  const chosen = eligible[0]?.userId ?? null;
  const candidates = people.map((person) => {
    const skipped = skipReason(person, options);
    const rank = eligible.findIndex((e) => e.userId === person.userId);
    return {
      userId: person.userId,
      name: person.name,
      eligible: skipped === null,
      reason: skipped ?? (person.userId === chosen ? `next in ${options.strategy}` : `eligible, position ${rank + 1}`),
      openLeads: person.openLeads,
      lastAssignedAt: person.lastAssignedAt?.toISOString() ?? null,
    };
  });
  return { chosen, candidates };
}
