/** Display helpers: times in the viewer's time zone, durations, and words for the API's codes. */
import { onBeforeUnmount, ref, type Ref } from 'vue';
import type { CadenceStep, EscalationAction, ExplainedStep, LeadPhase, PolicyRules } from './types';

const exactTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const shortTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const amount = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

/** Date and time to the second, for deadlines and the timeline. */
export const formatExact = (iso: string) => exactTime.format(new Date(iso));
export const formatShort = (iso: string) => shortTime.format(new Date(iso));
/** Lead values carry no currency, so none is shown. */
export const formatAmount = (value: number) => amount.format(value);

/** "2d 3h", "4h 12m", "12m 5s", "45s": the two largest units. */
export function formatDuration(ms: number): string {
  const seconds = Math.floor(Math.abs(ms) / 1000);
  const parts: [number, string][] = [
    [Math.floor(seconds / 86_400), 'd'],
    [Math.floor(seconds / 3_600) % 24, 'h'],
    [Math.floor(seconds / 60) % 60, 'm'],
    [seconds % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}

/** "in 4m 12s" or "3m ago", against a ticking `now`. */
export function formatRelative(iso: string, now: number): string {
  const delta = new Date(iso).getTime() - now;
  if (Math.abs(delta) < 1000) return 'now';
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(delta)} ago`;
}

/** A clock for countdowns, ticking while the component is mounted. */
export function useNow(intervalMs = 1000): Ref<number> {
  const now = ref(Date.now());
  const timer = window.setInterval(() => (now.value = Date.now()), intervalMs);
  onBeforeUnmount(() => window.clearInterval(timer));
  return now;
}

/** "first_contact_sla" → "First contact sla"; the fallback for codes without a label below. */
export function humanize(code: string): string {
  const words = code.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const labels: Record<string, string> = {
  // Escalation actions and deadline kinds
  remind_assignee: 'Remind the assignee',
  notify_manager: 'Notify the manager',
  reassign: 'Reassign',
  raise_priority: 'Raise the priority',
  first_contact_sla: 'First-contact SLA',
  // Assignment
  round_robin: 'round robin',
  least_loaded: 'least loaded',
  // Tasks
  first_contact: 'First contact',
  follow_up: 'Follow-up',
  // Channels
  sms: 'SMS',
};

/** Words for a status, priority, channel, action or other code. */
export const label = (code: string) => labels[code] ?? humanize(code);

const eventLabels: Record<string, string> = {
  created: 'Lead created',
  queued: 'Queued, nobody eligible',
  task_created: 'Task created',
  escalation_skipped: 'Escalation skipped',
  contacted: 'Contact logged',
  unresponsive: 'Marked unresponsive',
  sms_outbound: 'SMS sent',
  sms_inbound: 'SMS received',
  email_outbound: 'Email sent',
  email_inbound: 'Email received',
};

/** Every escalation action, in words; a Record so a new action in domain/policy.ts fails the type check here. */
export const escalationActionLabels: Record<EscalationAction, string> = {
  remind_assignee: 'Remind the assignee',
  notify_manager: 'Notify the manager',
  reassign: 'Reassign to the next person',
  raise_priority: 'Raise the priority',
};
export const escalationActions = Object.keys(escalationActionLabels) as EscalationAction[];

export const cadenceActionLabels: Record<CadenceStep['action'], string> = { task: 'Task for the rep', sms: 'SMS to the lead', email: 'Email to the lead' };
export const cadenceActions = Object.keys(cadenceActionLabels) as CadenceStep['action'][];
/** The action as it reads inside a sentence: "Cadence 3: SMS followup_sms". */
const cadenceActionWords: Record<CadenceStep['action'], string> = { task: 'task', sms: 'SMS', email: 'email' };

export const onCadenceEndLabels: Record<PolicyRules['onCadenceEnd'], string> = {
  unresponsive: 'Close the lead as unresponsive',
  keep_open: 'Keep the lead open',
};
export const strategyLabels: Record<PolicyRules['assignment']['strategy'], string> = {
  round_robin: 'Round robin (weighted)',
  least_loaded: 'Least loaded',
};

export const phaseLabels: Record<LeadPhase, string> = {
  queued: 'Waiting in the team queue',
  first_contact: 'Waiting for first contact',
  cadence: 'Follow-up cadence',
  closed: 'Closed',
};

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

/** A workflow step in words: "Escalation 2: notify the manager", "Cadence 3: SMS followup_sms (deferred for quiet hours)". */
export function describeStep(step: ExplainedStep): string {
  switch (step.kind) {
    case 'first_contact_sla':
      return 'First-contact SLA ends';
    case 'escalation':
      return `Escalation ${step.step + 1}: ${lowerFirst(escalationActionLabels[step.action] ?? label(step.action))}`;
    case 'cadence': {
      const what = step.action === 'task' ? `task “${step.label}”` : `${cadenceActionWords[step.action]} ${step.label}`;
      return `Cadence ${step.step + 1}: ${what}${step.quietHoursDeferred ? ' (deferred for quiet hours)' : ''}`;
    }
    case 'cadence_end':
      return 'Closes as unresponsive';
  }
}

/** How far a simulated next action moves: "12m sooner", "2h later", "no change". */
export function describeShift(minutes: number | null): string {
  if (minutes === null) return '—';
  if (minutes === 0) return 'no change';
  return `${formatDuration(Math.abs(minutes) * 60_000)} ${minutes < 0 ? 'sooner' : 'later'}`;
}

/** Words for a timeline entry's type: "contacted" is a status, but on the timeline it is a logged contact. */
export const eventLabel = (type: string) => eventLabels[type] ?? label(type);
