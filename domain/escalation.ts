import { addBusinessTime, type BusinessCalendar } from './businessHours.js';
import { durationMs } from './duration.js';
import type { EscalationAction, PolicyRules } from './policy.js';

/** A clock the workflow is waiting on, with the exact time it fires. */
export interface Deadline {
  kind: 'first_contact_sla' | 'escalation';
  /** Index into the policy's escalation chain, for escalation deadlines. */
  step?: number;
  action?: EscalationAction;
  at: number;
}

export interface EscalationDeadline extends Deadline {
  kind: 'escalation';
  step: number;
  action: EscalationAction;
}

/** A policy duration after `start`: open hours of the team's calendar, or wall time when the policy says so. */
function after(start: number, duration: string, rules: PolicyRules, calendar: BusinessCalendar): number {
  return rules.businessHoursOnly ? addBusinessTime(start, durationMs(duration), calendar) : start + durationMs(duration);
}

/** When the first contact is due. The clock starts when the lead is assigned. */
export function firstContactDeadline(clockStart: number, rules: PolicyRules, calendar: BusinessCalendar): number {
  return after(clockStart, rules.firstContactSla, rules, calendar);
}

/**
 * Escalation steps still ahead of a lead that has run `stepsDone` of them. Each step's `after`
 * counts from the start of the first-contact clock, so `15m remind, 30m notify, 60m reassign`
 * fire a quarter, half and a whole hour into an uncontacted lead.
 */
export function pendingEscalations(
  clockStart: number,
  rules: PolicyRules,
  calendar: BusinessCalendar,
  stepsDone: number,
): EscalationDeadline[] {
  return rules.escalation.slice(stepsDone).map((step, offset) => ({
    kind: 'escalation',
    step: stepsDone + offset,
    action: step.action,
    at: after(clockStart, step.after, rules, calendar),
  }));
}

/**
 * What an uncontacted lead waits on at `now`: the SLA while it is still ahead, then every escalation
 * step not yet run, soonest first, and the next step to run.
 */
export function firstContactClock(
  clockStart: number,
  now: number,
  rules: PolicyRules,
  calendar: BusinessCalendar,
  stepsDone: number,
): { deadlines: Deadline[]; next: EscalationDeadline | undefined } {
  const dueAt = firstContactDeadline(clockStart, rules, calendar);
  const pending = pendingEscalations(clockStart, rules, calendar, stepsDone);
  const sla: Deadline[] = dueAt > now ? [{ kind: 'first_contact_sla', at: dueAt }] : [];
  return { deadlines: [...sla, ...pending].sort((a, b) => a.at - b.at), next: pending[0] };
}
