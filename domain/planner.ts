import { DateTime } from 'luxon';
import { addBusinessTime, businessTimeBetween, type BusinessCalendar } from './businessHours.js';
import { durationMs } from './duration.js';
import type { CadenceStep, EscalationAction, PolicyRules } from './policy.js';

/**
 * The one planner: the lead workflow runs what it returns, `explain` shows it, and policy
 * simulation runs it on a draft, so the three cannot disagree.
 */

/**
 * A stoppable clock. Time counts while it runs (open hours only when the policy says so); a pause
 * banks what has counted so far, and resuming carries on from there.
 */
export interface LeadClock {
  /** Counted time banked before the current run. */
  consumedMs: number;
  /** When the current run started; null while paused. */
  runningSince: number | null;
}

export function startClock(at: number): LeadClock {
  return { consumedMs: 0, runningSince: at };
}

function measure(from: number, to: number, rules: PolicyRules, calendar: BusinessCalendar): number {
  if (to <= from) return 0;
  return rules.businessHoursOnly ? businessTimeBetween(from, to, calendar) : to - from;
}

export function pauseClock(clock: LeadClock, at: number, rules: PolicyRules, calendar: BusinessCalendar): LeadClock {
  if (clock.runningSince === null) return clock;
  return { consumedMs: clock.consumedMs + measure(clock.runningSince, at, rules, calendar), runningSince: null };
}

export function resumeClock(clock: LeadClock, at: number): LeadClock {
  return clock.runningSince === null ? { ...clock, runningSince: at } : clock;
}

/** Counted time on the clock at `now`. */
export function clockElapsed(clock: LeadClock, now: number, rules: PolicyRules, calendar: BusinessCalendar): number {
  return clock.consumedMs + (clock.runningSince === null ? 0 : measure(clock.runningSince, now, rules, calendar));
}

/** When the clock will have counted `duration`; null while it is paused. A time already reached is in the past. */
export function clockReaches(clock: LeadClock, duration: number, rules: PolicyRules, calendar: BusinessCalendar): number | null {
  if (clock.runningSince === null) return null;
  const left = Math.max(0, duration - clock.consumedMs);
  return rules.businessHoursOnly ? addBusinessTime(clock.runningSince, left, calendar) : clock.runningSince + left;
}

/** Pushes a moment inside quiet hours (in `timezone`) to the moment they end. */
export function afterQuietHours(at: number, quietHours: PolicyRules['quietHours'], timezone: string): number {
  const local = DateTime.fromMillis(at, { zone: timezone });
  const clock = (value: string) => {
    const [hour, minute] = value.split(':').map(Number) as [number, number];
    return hour * 60 + minute;
  };
  const start = clock(quietHours.start);
  const end = clock(quietHours.end);
  if (start === end) return at;
  const minute = local.hour * 60 + local.minute;
  const [hour, min] = quietHours.end.split(':').map(Number) as [number, number];
  const endToday = local.set({ hour, minute: min, second: 0, millisecond: 0 });
  if (start < end) return minute >= start && minute < end ? endToday.toMillis() : at;
  // Quiet hours across midnight, such as 21:00 to 08:00.
  if (minute >= start) return endToday.plus({ days: 1 }).toMillis();
  if (minute < end) return endToday.toMillis();
  return at;
}

export const DEFAULT_UNRESPONSIVE_AFTER = '1d';

export type LeadPhase = 'queued' | 'first_contact' | 'cadence' | 'closed';

/** What the planner needs to know about a lead; the workflow keeps it and `explain` returns it. */
export interface LeadPlanState {
  phase: LeadPhase;
  /** The first-contact clock, then (restarted at contact) the cadence clock. */
  clock: LeadClock | null;
  escalationsDone: number;
  cadenceDone: number;
  /** Where quiet hours are counted: the lead's timezone, else the team's. */
  timezone: string;
}

export type PlannedStep =
  | { kind: 'first_contact_sla'; at: number | null }
  | { kind: 'escalation'; step: number; action: EscalationAction; at: number | null }
  | { kind: 'cadence'; step: number; action: CadenceStep['action']; label: string; at: number | null; quietHoursDeferred: boolean }
  | { kind: 'cadence_end'; at: number | null };

export type EscalationStep = Extract<PlannedStep, { kind: 'escalation' }>;

export interface LeadPlan {
  /** Every pending deadline, soonest first; a paused clock's deadlines have no time and come last. */
  deadlines: PlannedStep[];
  /** The step the workflow runs next (the SLA itself only informs; escalations act on it). */
  next: PlannedStep | null;
}

function cadenceLabel(step: CadenceStep): string {
  return step.action === 'task' ? step.title : step.template;
}

export function planLead(state: LeadPlanState, rules: PolicyRules, calendar: BusinessCalendar, now: number): LeadPlan {
  const { clock } = state;
  if (!clock || state.phase === 'queued' || state.phase === 'closed') return { deadlines: [], next: null };
  const reach = (duration: string) => clockReaches(clock, durationMs(duration), rules, calendar);

  let steps: PlannedStep[];
  if (state.phase === 'first_contact') {
    const escalations = rules.escalation.slice(state.escalationsDone).map(
      (step, offset): PlannedStep => ({ kind: 'escalation', step: state.escalationsDone + offset, action: step.action, at: reach(step.after) }),
    );
    const sla = reach(rules.firstContactSla);
    const slaAhead = sla === null || sla > now;
    return { deadlines: sortDeadlines([...(slaAhead ? [{ kind: 'first_contact_sla' as const, at: sla }] : []), ...escalations]), next: escalations[0] ?? null };
  }

  steps = rules.cadence.slice(state.cadenceDone).map((step, offset): PlannedStep => {
    const at = reach(step.after);
    const outreach = step.action !== 'task';
    const deferred = at !== null && outreach ? afterQuietHours(Math.max(at, now), rules.quietHours, state.timezone) : at;
    return {
      kind: 'cadence',
      step: state.cadenceDone + offset,
      action: step.action,
      label: cadenceLabel(step),
      at: deferred,
      quietHoursDeferred: at !== null && deferred !== null && deferred > Math.max(at, now),
    };
  });
  if (rules.onCadenceEnd === 'unresponsive') {
    const last = rules.cadence.at(-1)?.after ?? '0s';
    const grace = rules.unresponsiveAfter ?? DEFAULT_UNRESPONSIVE_AFTER;
    const end = clockReaches(clock, durationMs(last) + durationMs(grace), rules, calendar);
    steps = [...steps, { kind: 'cadence_end', at: end }];
  }
  return { deadlines: sortDeadlines(steps), next: steps[0] ?? null };
}

/**
 * The escalation steps not yet run whose deadline has passed by `now`: what a first contact arriving
 * now finds overdue. Each is a breach (domain/escalation.ts) that still has to be put on record.
 */
export function overdueEscalations(state: LeadPlanState, rules: PolicyRules, calendar: BusinessCalendar, now: number): EscalationStep[] {
  if (state.phase !== 'first_contact') return [];
  return planLead(state, rules, calendar, now).deadlines.filter((d): d is EscalationStep => d.kind === 'escalation' && d.at !== null && d.at <= now);
}

function sortDeadlines(steps: PlannedStep[]): PlannedStep[] {
  return [...steps].sort((a, b) => (a.at ?? Number.POSITIVE_INFINITY) - (b.at ?? Number.POSITIVE_INFINITY));
}
