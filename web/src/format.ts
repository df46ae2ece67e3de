/** Display helpers: times in the viewer's time zone, durations, and words for the API's codes. */
import { onBeforeUnmount, ref, type Ref } from 'vue';

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

/** Words for a timeline entry's type: "contacted" is a status, but on the timeline it is a logged contact. */
export const eventLabel = (type: string) => eventLabels[type] ?? label(type);
