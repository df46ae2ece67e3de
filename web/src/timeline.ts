/** A timeline event in words: one sentence for what happened, and the facts worth reading under it. */
import { escalationActionLabels, formatAmount, formatExact, label } from './format';
import type { EscalationAction, TimelineEvent } from './types';

export interface EventWords {
  sentence: string;
  details: string[];
}

/** Why the workflow (re)assigned, as the assign activity records it. */
const assignmentReasons: Record<string, string> = {
  new_lead: 'new lead',
  queue: 'someone became free to take it',
  retry: 'nobody was eligible before',
  escalation: 'first contact overdue',
  manual: 'chosen by hand',
};

/** What an escalation step did, in the past tense. */
const escalationDone: Record<EscalationAction, string> = {
  remind_assignee: 'reminded the assignee',
  notify_manager: 'told the manager',
  reassign: 'reassigned the lead',
  raise_priority: 'raised the priority',
};

const channelWords: Record<string, string> = { sms: 'SMS', email: 'Email' };

const str = (value: unknown) => (typeof value === 'string' && value.trim() ? value : null);
const num = (value: unknown) => (typeof value === 'number' ? value : null);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * `person` puts a name to a user id (the page knows the names of everyone it shows); it answers
 * null for a missing id.
 */
export function describeEvent(event: TimelineEvent, person: (id: unknown) => string | null): EventWords {
  const d = event.data;
  const details: (string | null)[] = [];
  const step = num(d.step);
  const stepWords = step === null ? '' : ` ${step + 1}`;
  const reason = str(d.reason);
  const decision = d.decision as { strategy?: unknown } | undefined;
  const strategy = str(decision?.strategy);
  let sentence: string;

  switch (event.type) {
    case 'created':
      sentence = 'Lead created';
      details.push(str(d.source) && `Source: ${str(d.source)}`);
      break;
    case 'assigned':
      sentence = `Assigned to ${person(d.to) ?? 'someone'}`;
      details.push(reason && `Why: ${assignmentReasons[reason] ?? reason}`);
      details.push(strategy && strategy !== 'manual' ? `Strategy: ${label(strategy)}` : null);
      break;
    case 'reassigned':
      sentence = `Reassigned from ${person(d.from) ?? 'nobody'} to ${person(d.to) ?? 'someone'}`;
      details.push(reason && `Why: ${assignmentReasons[reason] ?? reason}`);
      details.push(strategy && strategy !== 'manual' ? `Strategy: ${label(strategy)}` : null);
      break;
    case 'queued':
      sentence = `Waiting in the team queue: ${reason ?? 'nobody eligible'}`;
      break;
    case 'still_queued':
      sentence = `Still waiting in the team queue: ${reason ?? 'nobody eligible'}`;
      break;
    case 'manager_notified':
      sentence = `${person(d.managerId) ?? 'The manager'} was told nobody can take the lead`;
      break;
    case 'reassignment_failed':
      sentence = `Could not reassign: ${reason ?? 'nobody eligible'}; the lead stays where it is`;
      break;
    case 'assignment_skipped':
      sentence = `Assignment skipped: ${reason ?? 'the lead is closed'}`;
      break;
    case 'task_created':
      sentence = `Task created: ${str(d.title) ?? label(str(d.kind) ?? 'task')}`;
      details.push(str(d.dueAt) && `Due ${formatExact(str(d.dueAt)!)}`);
      break;
    case 'task_completed':
      sentence = `Task completed${str(d.title) ? `: ${str(d.title)}` : ''}`;
      details.push(str(d.outcome) && `Outcome: ${str(d.outcome)}`);
      break;
    case 'escalated': {
      const action = str(d.action) as EscalationAction | null;
      const done = action ? (escalationDone[action] ?? label(action).toLowerCase()) : 'escalated';
      // A late breach: the deadline passed before the contact, but the step ran after it and did nothing.
      sentence = d.late ? `Escalation${stepWords}: first contact came after the deadline (recorded late)` : `Escalation${stepWords}: ${done}`;
      if (d.late) details.push(action && `Not done, the lead was contacted by then: ${(escalationActionLabels[action] ?? label(action)).toLowerCase()}`);
      details.push(str(d.dueAt) && `Due ${formatExact(str(d.dueAt)!)}`);
      const priority = d.priority as { from?: unknown; to?: unknown } | undefined;
      details.push(num(d.level) === null ? null : `Escalation level ${num(d.level)}`);
      details.push(priority && str(priority.from) && str(priority.to) ? `Priority ${label(str(priority.from)!)} → ${label(str(priority.to)!)}` : null);
      break;
    }
    case 'escalation_skipped': {
      const action = str(d.action) as EscalationAction | null;
      sentence = `Escalation${stepWords} skipped: the lead was contacted by the deadline, or closed`;
      details.push(action && `Would have: ${(escalationActionLabels[action] ?? label(action)).toLowerCase()}`);
      break;
    }
    case 'paused':
      sentence = `Paused: ${reason ?? str((d.after as { pauseReason?: unknown } | undefined)?.pauseReason) ?? 'no reason given'}`;
      details.push('The SLA and cadence clocks stopped');
      break;
    case 'resumed':
      sentence = 'Resumed: the clocks run again';
      break;
    case 'policy_applied':
      sentence = `Policy version ${num(d.version) ?? event.policyVersion ?? '?'} applied`;
      details.push('Deadlines recomputed from the new rules');
      break;
    case 'message_sent':
    case 'message_suppressed':
    case 'message_skipped': {
      const channel = channelWords[str(d.channel) ?? ''] ?? 'Message';
      const template = str(d.template) ? ` ${str(d.template)}` : '';
      if (event.type === 'message_sent') sentence = `${channel}${template} sent${str(d.to) ? ` to ${str(d.to)}` : ''}`;
      else if (event.type === 'message_suppressed') sentence = `${channel}${template} not sent: ${reason ?? 'opted out'}`;
      else sentence = `${channel}${template} skipped: ${reason ?? 'no address'}`;
      break;
    }
    case 'contacted':
      sentence = `${d.first === true ? 'First contact' : 'Contact'} logged${str(d.channel) ? ` by ${label(str(d.channel)!)}` : ''}`;
      details.push(str(d.outcome) && `Outcome: ${str(d.outcome)}`);
      details.push(str(d.notes) && `Notes: ${str(d.notes)}`);
      break;
    case 'converted':
      sentence = num(d.value) === null ? 'Converted' : `Converted, value ${formatAmount(num(d.value)!)}`;
      details.push(str(d.notes) && `Notes: ${str(d.notes)}`);
      break;
    case 'lost':
      sentence = reason ? `Lost: ${reason}` : 'Lost';
      details.push(str(d.notes) && `Notes: ${str(d.notes)}`);
      break;
    case 'unresponsive':
      sentence = `Closed as unresponsive${reason ? `: ${reason}` : ''}`;
      break;
    case 'updated': {
      const after = (d.after ?? {}) as Record<string, unknown>;
      const fields = Object.keys(after);
      sentence = fields.length ? `Updated ${fields.map((field) => label(field).toLowerCase()).join(', ')}` : 'Updated';
      break;
    }
    case 'message_failed':
      sentence = `${channelWords[str(d.channel) ?? ''] ?? 'Message'} could not be sent${str(d.to) ? ` to ${str(d.to)}` : ''}`;
      details.push(str(d.error) && `Provider said: ${str(d.error)}`);
      break;
    case 'message_delivered':
      sentence = `${channelWords[str(d.channel) ?? ''] ?? 'Message'} delivered${str(d.to) ? ` to ${str(d.to)}` : ''}`;
      break;
    case 'message_received':
      sentence = `${channelWords[str(d.channel) ?? ''] ?? 'Message'} received from the lead`;
      details.push(str(d.keyword) && `Keyword: ${str(d.keyword)!.toUpperCase()}`);
      break;
    case 'opted_out':
      sentence = `Opted out of ${channelWords[str(d.channel) ?? ''] ?? 'messages'}`;
      break;
    case 'opted_in':
      sentence = `Opted back in to ${channelWords[str(d.channel) ?? ''] ?? 'messages'}`;
      break;
    case 'staff_notified':
      sentence = `Notice sent: ${label(str(d.notice) ?? 'notice').toLowerCase()}`;
      break;
    case 'inquiry_merged':
      sentence = 'Asked again through a form; merged into this lead';
      break;
    default:
      sentence = label(event.type);
      for (const [key, value] of Object.entries(d)) {
        if (['string', 'number', 'boolean'].includes(typeof value)) details.push(`${label(key)}: ${String(value)}`);
      }
  }

  const cancelled = num(d.cancelledTasks);
  if (['converted', 'lost', 'unresponsive'].includes(event.type) && cancelled) details.push(`${plural(cancelled, 'open task')} cancelled`);
  return { sentence, details: details.filter((line): line is string => !!line) };
}
