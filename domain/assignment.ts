import { isOpen, nextOpening, type BusinessCalendar } from './businessHours.js';

/** A person who could take a lead, as the assignment rules see them. */
export interface AssignmentPerson {
  userId: string;
  name: string;
  active: boolean;
  capacity: number;
  openLeads: number;
  outOfOfficeFrom: Date | null;
  outOfOfficeUntil: Date | null;
  /** Their own hours, else the team's. */
  calendar: BusinessCalendar;
  /** Share of a weighted rotation (1 unless a manager says otherwise). */
  weight: number;
  /** Position in the rotation; see `pickAssignee`. */
  rotationPass: number;
  lastAssignedAt: Date | null;
}

export interface AssignmentOptions {
  strategy: 'round_robin' | 'least_loaded';
  respectCapacity: boolean;
  respectWorkingHours: boolean;
  /** People who already had this lead; a reassignment skips them. */
  exclude: readonly string[];
  /** The team rotation's virtual time: nobody's position counts as earlier than this. */
  rotationPass: number;
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
  /** Rotation state to store when `chosen` takes the lead. */
  rotation: { chosenPass: number; teamPass: number } | null;
  /**
   * With nobody chosen: the earliest moment a clock makes someone eligible (a shift starts, someone
   * returns from leave). Null when only a person's action can (capacity frees, someone is activated).
   */
  nextEligibleAt: Date | null;
}

function awayAt(person: AssignmentPerson, at: Date): boolean {
  return (
    person.outOfOfficeFrom !== null &&
    person.outOfOfficeFrom <= at &&
    (person.outOfOfficeUntil === null || at < person.outOfOfficeUntil)
  );
}

function skipReason(person: AssignmentPerson, options: AssignmentOptions): string | null {
  if (!person.active) return 'inactive';
  if (options.exclude.includes(person.userId)) return 'already had this lead';
  if (awayAt(person, options.now)) return 'out of office';
  if (options.respectWorkingHours && !isOpen(options.now.getTime(), person.calendar)) return 'off shift';
  if (options.respectCapacity && person.openLeads >= person.capacity) {
    return `at capacity (${person.openLeads}/${person.capacity} open leads)`;
  }
  return null;
}

/** When the clock alone would make a skipped person eligible, or null if it never would. */
function eligibleAgainAt(person: AssignmentPerson, options: AssignmentOptions): number | null {
  if (!person.active || options.exclude.includes(person.userId)) return null;
  if (options.respectCapacity && person.openLeads >= person.capacity) return null;
  let at = options.now.getTime();
  // Leave first, then the next shift after it; a shift that opens during leave does not count.
  if (awayAt(person, options.now)) {
    if (person.outOfOfficeUntil === null) return null;
    at = person.outOfOfficeUntil.getTime();
  }
  return options.respectWorkingHours ? nextOpening(at, person.calendar) : at;
}

const time = (date: Date | null) => date?.getTime() ?? Number.NEGATIVE_INFINITY;

/**
 * Orders the eligible people by the strategy and picks the first.
 *
 * Round robin is stride scheduling: each person's pass grows by 1/weight per lead and the lowest
 * pass goes next, so weights 2:1 get leads 2:1 and equal weights rotate evenly. Nobody's pass counts
 * as lower than the team's current pass, so someone back from a week away rejoins the rotation
 * where it is instead of taking every lead until they catch up, and people joining or leaving never
 * reset it. Least loaded picks the fewest open leads, then the same rotation.
 */
export function pickAssignee(people: readonly AssignmentPerson[], options: AssignmentOptions): AssignmentPick {
  const pass = (person: AssignmentPerson) => Math.max(person.rotationPass, options.rotationPass);
  const rotation = (a: AssignmentPerson, b: AssignmentPerson) =>
    pass(a) - pass(b) || time(a.lastAssignedAt) - time(b.lastAssignedAt) || a.name.localeCompare(b.name) || a.userId.localeCompare(b.userId);
  const order =
    options.strategy === 'least_loaded'
      ? (a: AssignmentPerson, b: AssignmentPerson) => a.openLeads - b.openLeads || rotation(a, b)
      : rotation;

  const eligible = people.filter((person) => skipReason(person, options) === null).sort(order);
  const chosen = eligible[0] ?? null;
  const candidates = people.map((person) => {
    const skipped = skipReason(person, options);
    const rank = eligible.indexOf(person);
    return {
      userId: person.userId,
      name: person.name,
      eligible: skipped === null,
      reason: skipped ?? (person === chosen ? `next in ${options.strategy}` : `eligible, position ${rank + 1}`),
      openLeads: person.openLeads,
      lastAssignedAt: person.lastAssignedAt?.toISOString() ?? null,
    };
  });
  if (chosen) {
    const start = pass(chosen);
    return {
      chosen: chosen.userId,
      candidates,
      rotation: { chosenPass: start + 1 / Math.max(1, chosen.weight), teamPass: start },
      nextEligibleAt: null,
    };
  }
  const times = people.map((person) => eligibleAgainAt(person, options)).filter((at): at is number => at !== null);
  return { chosen: null, candidates, rotation: null, nextEligibleAt: times.length ? new Date(Math.min(...times)) : null };
}
