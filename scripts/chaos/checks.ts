import { ApplicationFailure } from '@temporalio/common';
import type { MikroORM } from '../../db/orm.js';
import { durationMs } from '../../domain/duration.js';
import { escalationBreached } from '../../domain/escalation.js';
import { isClosed, leadWorkflowId, type LeadStatus } from '../../domain/lead.js';
import type { PolicyRules } from '../../domain/policy.js';
import type { SentMail } from '../../test/fakes/sendgrid.js';
import { nonRetryableErrors } from '../../workflows/definitions.js';
import type { LeadRecord } from './driver.js';
import type { ChaosTeam } from './scenario.js';
import { isSettled, type WorkflowView } from './settle.js';
import type { ChaosSystem } from './system.js';

export interface CheckResult {
  name: string;
  what: string;
  /** How many things were looked at (leads, rows, provider calls). */
  checked: number;
  violations: string[];
}

export interface RunFigures {
  twilioSends: number;
  /** Message-log lookups: a retry asking Twilio whether an interrupted attempt's SMS got there. */
  twilioLookups: number;
  smsSent: number;
  smsSuppressed: number;
  smsSkipped: number;
  sendgridSends: number;
  emailsSent: number;
  /** Emails recorded failed because a killed attempt may have handed them over (SendGrid cannot be asked). */
  emailsGivenUp: number;
  emailsGivenUpButAccepted: number;
  /** Outbound messages that failed for any other reason (nothing in this run should make a provider refuse). */
  otherFailures: string[];
  /** SMS to a number that texted STOP, claimed before the STOP was recorded and reaching Twilio just after. */
  smsInFlightAtStop: number;
  /** First contacts the workflow put on record because the API's commit failed after its signal went through. */
  contactsRecordedByWorkflow: number;
}

/** The innermost failure type of a failed workflow's result (an activity's ApplicationFailure). */
async function failureType(result: Promise<unknown>): Promise<string | null> {
  try {
    await result;
    return null;
  } catch (error) {
    let cause: unknown = error;
    let type: string | null = null;
    while (cause instanceof Error) {
      if (cause instanceof ApplicationFailure) type = cause.type ?? type;
      cause = cause.cause;
    }
    return type;
  }
}

interface LeadRow {
  id: string;
  status: LeadStatus;
  escalation_level: number;
  first_contact_at: Date | string | null;
  first_contact_due_at: Date | string | null;
  assignee_id: string | null;
  team_id: string;
  phone: string | null;
}
interface TaskRow {
  id: string;
  lead_id: string;
  kind: string;
  title: string;
  status: string;
  idempotency_key: string | null;
}
interface MessageRow {
  id: string;
  lead_id: string | null;
  channel: 'sms' | 'email';
  direction: string;
  to: string;
  status: string;
  idempotency_key: string | null;
  provider_id: string | null;
  error: string | null;
  created_at: Date;
}
interface EventRow {
  id: string;
  lead_id: string;
  type: string;
  actor_id: string | null;
  data: Record<string, unknown>;
  idempotency_key: string | null;
}

/** How much later than the STOP's 200 an SMS claimed before it may still reach Twilio. */
const IN_FLIGHT_GRACE_MS = 2_000;
/** The outbox's word for an email it would not resend because an attempt was cut off mid-send. */
const interrupted = (message: { channel: string; error: string | null }) => message.channel === 'email' && Boolean(message.error?.includes('never heard back'));
const closingTypes = new Set(['converted', 'lost', 'unresponsive']);
const terminalMessageEvents = ['message_sent', 'message_suppressed', 'message_failed'] as const;

function groupBy<T>(items: T[], key: (item: T) => string | null | undefined): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k === null || k === undefined) continue;
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Indexes 0..n-1 each exactly once; returns n, or a description of what is wrong. */
function contiguous(indexes: number[]): number | string {
  const sorted = [...indexes].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i] !== i) return `steps ${sorted.join(',')} (expected 0..${sorted.length - 1}, each once)`;
  }
  return sorted.length;
}

export async function runChecks(input: {
  /** Only the provider fakes and the Temporal client are read, so a deploy rehearsal can bring its own. */
  system: Pick<ChaosSystem, 'twilio' | 'sendgrid' | 'temporal'>;
  orm: MikroORM;
  records: LeadRecord[];
  teams: ChaosTeam[];
  rules: PolicyRules;
  views: Map<string, WorkflowView>;
  /**
   * A deploy rehearsal from a release older than the deadline rule (patch `escalation-deadline-decides`):
   * a first contact logged before this moment was handled by that release, where the contact won a race
   * with a deadline, and is held to the rule only from here on.
   */
  deadlineRuleFrom?: number;
}): Promise<{ checks: CheckResult[]; figures: RunFigures; workflows: Record<string, number>; statuses: Record<string, number>; orphans: number }> {
  const { system, orm, records, teams, rules, views, deadlineRuleFrom = Number.NEGATIVE_INFINITY } = input;
  const sql = <T>(query: string) => orm.em.fork().getConnection().execute<T[]>(query);
  const leads = new Map((await sql<LeadRow>('select id, status, escalation_level, first_contact_at, first_contact_due_at, assignee_id, team_id, phone from lead')).map((row) => [row.id, row]));
  const tasks = await sql<TaskRow>('select id, lead_id, kind, title, status, idempotency_key from task');
  const messages = (await sql<MessageRow>(`select id, lead_id, channel, direction, "to", status, idempotency_key, provider_id, error, created_at from message`)).map((m) => ({ ...m, created_at: new Date(m.created_at) }));
  const events = await sql<EventRow>('select id, lead_id, type, actor_id, data, idempotency_key from lead_event');
  const outbound = messages.filter((m) => m.direction === 'outbound');
  const tasksByLead = groupBy(tasks, (t) => t.lead_id);
  const messagesByLead = groupBy(outbound, (m) => m.lead_id);
  const eventsByLead = groupBy(events, (e) => e.lead_id);
  const byKey = <T extends { idempotency_key: string | null }>(rows: T[]) => new Map(rows.filter((r) => r.idempotency_key).map((r) => [r.idempotency_key!, r]));
  const taskByKey = byKey(tasks);
  const messageByKey = byKey(outbound);
  const eventByKey = byKey(events);
  const people = new Map(teams.flatMap((team) => [team.manager, ...team.reps]).map((p) => [p.id, p]));

  const state: CheckResult = { name: 'lead_state', what: 'every lead in a state its history justifies (row, timeline, what the API was told)', checked: 0, violations: [] };
  const workflow: CheckResult = { name: 'workflow_state', what: 'each workflow completed with the lead’s closing status, or open, quiescent and agreeing with the row', checked: 0, violations: [] };
  const duplicates: CheckResult = { name: 'no_duplicates', what: 'no Task, Message or LeadEvent written twice (by idempotency key, and per task/message)', checked: 0, violations: [] };
  const missing: CheckResult = { name: 'no_missing_steps', what: 'every assignment, escalation, notice and cadence step due has its row, in order, none skipped', checked: 0, violations: [] };
  const provider: CheckResult = { name: 'provider_calls', what: 'exactly one Twilio call per sent SMS, at most one SendGrid call per email, none for anything not sent', checked: 0, violations: [] };
  const optOut: CheckResult = { name: 'opt_outs', what: 'no SMS reached Twilio for an opted-out number (counted at the fake)', checked: 0, violations: [] };
  const flag = (check: CheckResult, leadId: string | null, message: string) => check.violations.push(leadId ? `${leadId}: ${message}` : message);

  // By key: the unique indexes should make these impossible; the check does not take that on trust.
  for (const [table, rows] of [
    ['task', tasks],
    ['message', messages],
    ['lead_event', events],
  ] as const) {
    duplicates.checked += rows.length;
    for (const [key, group] of groupBy(rows as { idempotency_key: string | null }[], (r) => r.idempotency_key)) {
      if (group.length > 1) flag(duplicates, null, `${table} key ${key} written ${group.length} times`);
    }
  }
  // Per task and per message: their events carry no key of their own.
  const taskCreated = groupBy(events.filter((e) => e.type === 'task_created'), (e) => String(e.data.taskId));
  for (const task of tasks) {
    const count = taskCreated.get(task.id)?.length ?? 0;
    if (task.kind !== 'escalation' && count !== 1) flag(duplicates, task.lead_id, `task ${task.idempotency_key} has ${count} task_created events`);
  }
  for (const [taskId, group] of taskCreated) if (!tasks.some((t) => t.id === taskId)) flag(duplicates, group[0]!.lead_id, `task_created for a task that does not exist (${taskId})`);
  const messageEvents = groupBy(events.filter((e) => (terminalMessageEvents as readonly string[]).includes(e.type)), (e) => String(e.data.messageId));
  for (const message of outbound) {
    const seen = (messageEvents.get(message.id) ?? []).map((e) => e.type).sort();
    const expected = { sent: ['message_sent'], delivered: ['message_sent'], suppressed: ['message_suppressed'], failed: ['message_failed'] }[message.status] ?? [];
    if (message.status === 'queued') flag(missing, message.lead_id, `message ${message.idempotency_key} is still queued: its send never finished`);
    else if (seen.join() !== expected.join()) flag(duplicates, message.lead_id, `message ${message.idempotency_key} (${message.status}) has events [${seen.join(', ')}]`);
  }

  for (const record of records) {
    const leadId = record.leadId;
    if (!leadId) {
      flag(state, null, `${record.plan.name} was never created`);
      continue;
    }
    state.checked++;
    const lead = leads.get(leadId);
    if (!lead) {
      flag(state, leadId, 'the API created it but there is no row');
      continue;
    }
    const wid = leadWorkflowId(leadId);
    const team = teams.find((t) => t.id === lead.team_id)!;
    const leadEvents = eventsByLead.get(leadId) ?? [];
    const ofType = (...types: string[]) => leadEvents.filter((e) => types.includes(e.type));
    const leadTasks = tasksByLead.get(leadId) ?? [];
    const leadMessages = messagesByLead.get(leadId) ?? [];
    const closedByApi = lead.status === 'converted' || lead.status === 'lost';

    // The row against the timeline and against what the driver did and was told.
    if (ofType('created').length !== 1) flag(state, leadId, `${ofType('created').length} created events`);
    const closing = leadEvents.filter((e) => closingTypes.has(e.type));
    if (isClosed(lead.status)) {
      if (closing.length !== 1 || closing[0]!.type !== lead.status || closing[0]!.idempotency_key !== `${wid}:close`) {
        flag(state, leadId, `${lead.status} with closing events [${closing.map((e) => `${e.type} ${e.idempotency_key}`).join(', ')}]`);
      }
    } else if (closing.length > 0) {
      flag(state, leadId, `${lead.status} but has a closing event (${closing.map((e) => e.type).join(', ')})`);
    }
    if (closedByApi) {
      const action = lead.status === 'converted' ? 'convert' : 'lose';
      if (record.close?.action !== action) flag(state, leadId, `${lead.status}, but the driver never asked to ${action} it`);
      if (closing[0] && closing[0].actor_id !== team.manager.id) flag(state, leadId, `${lead.status} by ${closing[0].actor_id ?? 'the workflow'}, not the manager who asked`);
    }
    if (record.close?.result === 'ok' && lead.status !== (record.close.action === 'convert' ? 'converted' : 'lost')) {
      flag(state, leadId, `the API answered 200 to ${record.close.action} but the lead is ${lead.status}`);
    }
    if (lead.status === 'unresponsive') {
      if (closing[0]?.actor_id) flag(state, leadId, 'unresponsive, closed by a user rather than the cadence');
      if (!lead.first_contact_at) flag(state, leadId, 'unresponsive without ever being contacted (the cadence starts at contact)');
    }
    if (lead.status === 'contacted') flag(state, leadId, 'contacted and still open: its cadence should have closed it');
    if (lead.status === 'new') flag(state, leadId, 'still new: never assigned');
    const contacts = ofType('contacted');
    if (record.contacted && (!lead.first_contact_at || contacts.length === 0)) flag(state, leadId, 'the API took a contact but the lead does not show it');
    // A contact whose API call failed after its signal went through is put on record by the workflow.
    if (!record.contactTried && (lead.first_contact_at || contacts.length > 0)) flag(state, leadId, 'shows a contact nobody made');
    if (contacts.some((e) => e.actor_id !== team.manager.id)) flag(state, leadId, 'a contact on record by someone other than the manager who logged it');
    if (lead.status === 'assigned' && record.plan.kind !== 'idle' && record.close?.result !== 'gave_up') {
      flag(state, leadId, `open and never contacted, but it was planned as ${record.plan.kind}`);
    }
    const escalated = ofType('escalated');
    if (lead.escalation_level !== escalated.length) flag(state, leadId, `escalation level ${lead.escalation_level} but ${escalated.length} escalated events`);
    const assignments = ofType('assigned', 'reassigned');
    const lastAssignee = assignments.length ? String(assignments.sort((a, b) => keyIndex(a, 'assign') - keyIndex(b, 'assign')).at(-1)!.data.to) : null;
    if (lead.assignee_id !== lastAssignee) flag(state, leadId, `assignee ${lead.assignee_id} but the last assignment was to ${lastAssignee}`);
    if (isClosed(lead.status)) {
      const open = leadTasks.filter((t) => t.status === 'open');
      if (open.length) flag(state, leadId, `${lead.status} with open tasks (${open.map((t) => t.idempotency_key).join(', ')})`);
    }

    // The workflow against the row.
    workflow.checked++;
    const view = views.get(leadId);
    if (!view) flag(workflow, leadId, 'Temporal never described its workflow');
    else if (isClosed(lead.status)) {
      if (view.status !== 'COMPLETED' || view.result?.status !== lead.status) flag(workflow, leadId, `lead ${lead.status}, workflow ${view.status} with result ${view.result?.status ?? 'none'}`);
    } else if (view.status !== 'RUNNING') {
      flag(workflow, leadId, `lead ${lead.status} (open), workflow ${view.status}`);
    } else if (!isSettled(view, rules)) {
      flag(workflow, leadId, `stuck: open, workflow not quiescent (phase ${view.explain?.phase}, next action ${view.explain?.nextActionAt}, ${view.pendingActivities} activities pending)`);
    } else if (view.explain!.status !== lead.status || view.explain!.escalationLevel !== lead.escalation_level || view.explain!.assigneeId !== lead.assignee_id) {
      const e = view.explain!;
      flag(workflow, leadId, `workflow says ${e.status}/level ${e.escalationLevel}/${e.assigneeId}, row says ${lead.status}/level ${lead.escalation_level}/${lead.assignee_id}`);
    }

    // Steps: each kind's keys run 0..n-1 with none missing, and n is what the lead's history calls for.
    missing.checked++;
    const assignSteps = contiguous(ofType('assigned', 'reassigned', 'reassignment_failed', 'queued', 'still_queued', 'assignment_skipped').map((e) => keyIndex(e, 'assign')));
    if (typeof assignSteps === 'string') flag(missing, leadId, `assignment ${assignSteps}`);
    const first = eventByKey.get(`${wid}:assign:0`)?.type ?? 'missing';
    // Closed through the API before its workflow got to assign it (the assignment then says it skipped,
    // or never ran): then the workflow did nothing else either.
    const closedFirst = closedByApi && leadTasks.length === 0 && leadMessages.length === 0 && ofType('escalated', 'escalation_skipped').length === 0;
    // A lead that came in while nobody could take it waits in the queue until an assignment takes it out.
    const leftQueue = first === 'queued' && assignments.some((e) => e.type === 'assigned');
    if (first !== 'assigned' && !leftQueue && !(closedFirst && (first === 'assignment_skipped' || first === 'missing'))) flag(missing, leadId, `first assignment is ${first}`);
    for (const assignment of assignments) {
      const n = keyIndex(assignment, 'assign');
      const notice = eventByKey.get(`${wid}:notice:assign:${n}:recipient`);
      // A close may land between the assignment and its notice; the workflow then rightly skips it.
      if (!notice && !closedByApi) flag(missing, leadId, `assignment ${n} to ${String(assignment.data.to)} was never notified`);
      if (notice) checkNotice(notice, String(assignment.data.to));
    }

    const escalationEvents = ofType('escalated', 'escalation_skipped').filter((e) => e.idempotency_key?.startsWith(`${wid}:escalation:`));
    const escalationSteps = contiguous(escalationEvents.map((e) => keyIndex(e, 'escalation')));
    if (typeof escalationSteps === 'string') flag(missing, leadId, `escalation ${escalationSteps}`);
    else if (lead.status === 'assigned' && escalationSteps !== rules.escalation.length) flag(missing, leadId, `open and uncontacted after ${escalationSteps} of ${rules.escalation.length} escalations`);
    // The deadline decides (domain/escalation.ts): every step whose deadline passed before the first
    // contact was logged is a breach on record, whenever the workflow got to it. The chaos policy runs
    // on wall time and never pauses, so a step's deadline is the first-contact due time moved by the
    // gap between the SLA and the step.
    // Raw rows: a timestamp may come back as a string.
    if (lead.first_contact_at && lead.first_contact_due_at && new Date(lead.first_contact_at).getTime() >= deadlineRuleFrom) {
      const contactAt = new Date(lead.first_contact_at).getTime();
      const slaDueAt = new Date(lead.first_contact_due_at).getTime();
      rules.escalation.forEach((step, n) => {
        const dueAt = slaDueAt + durationMs(step.after) - durationMs(rules.firstContactSla);
        if (!escalationBreached(dueAt, contactAt)) return;
        const event = eventByKey.get(`${wid}:escalation:${n}`);
        if (event?.type !== 'escalated') flag(missing, leadId, `escalation ${n} (${step.action}) fell due ${contactAt - dueAt} ms before the first contact but is ${event?.type ?? 'not on record'}`);
      });
    }
    for (const event of escalationEvents) {
      if (event.type !== 'escalated') continue;
      // Recorded once the contact was known: a breach on record, its action rightly not carried out.
      if (event.data.late) continue;
      const n = keyIndex(event, 'escalation');
      const action = rules.escalation[n]?.action;
      if (action === 'notify_manager' && !taskByKey.get(`${wid}:escalation:${n}:task`)) flag(missing, leadId, `escalation ${n} (notify_manager) has no task for the manager`);
      if (action === 'remind_assignee' || action === 'notify_manager') {
        const notice = eventByKey.get(`${wid}:escalation:${n}:notice:recipient`);
        if (!notice) flag(missing, leadId, `escalation ${n} (${action}) was never notified`);
        else if (action === 'notify_manager') checkNotice(notice, team.manager.id);
        else checkNotice(notice, null);
      }
    }

    const firstContact = leadTasks.filter((t) => t.kind === 'first_contact');
    if (firstContact.length > 1 || (firstContact[0] && firstContact[0].idempotency_key !== `${wid}:task:first_contact`)) flag(duplicates, leadId, `${firstContact.length} first-contact tasks`);
    if (lead.status === 'assigned' && firstContact[0]?.status !== 'open') flag(missing, leadId, `waiting for first contact, first-contact task ${firstContact[0]?.status ?? 'missing'}`);

    const cadenceSteps: number[] = [];
    rules.cadence.forEach((step, i) => {
      const key = `${wid}:cadence:${i}`;
      if (step.action === 'task') {
        const task = taskByKey.get(key);
        if (!task) return;
        cadenceSteps.push(i);
        if (task.kind !== 'follow_up' || task.title !== step.title) flag(missing, leadId, `cadence ${i} is a ${task.kind} task "${task.title}"`);
        return;
      }
      const message = messageByKey.get(key);
      const skipped = eventByKey.get(key);
      if (!message && skipped?.type !== 'message_skipped') return;
      cadenceSteps.push(i);
      if (message && message.channel !== step.action) flag(missing, leadId, `cadence ${i} went by ${message.channel}, not ${step.action}`);
      if (step.action === 'sms') checkLeadSms(record, leadId, i, message ?? null, skipped ?? null);
    });
    const done = contiguous(cadenceSteps);
    if (typeof done === 'string') flag(missing, leadId, `cadence ${done}`);
    else if (!lead.first_contact_at && done > 0) flag(missing, leadId, `${done} cadence steps without a contact`);
    else if (lead.status === 'unresponsive' && done !== rules.cadence.length) flag(missing, leadId, `unresponsive after ${done} of ${rules.cadence.length} cadence steps`);
    const stray = leadMessages.filter((m) => m.idempotency_key?.includes(':cadence:') && !m.idempotency_key.startsWith(`${wid}:cadence:`));
    if (stray.length) flag(duplicates, leadId, `messages keyed for another lead: ${stray.map((m) => m.idempotency_key).join(', ')}`);
  }

  /** A notice went to the right person, one message per channel of theirs, each finished. */
  function checkNotice(event: EventRow, expectedUserId: string | null) {
    const userId = String(event.data.userId);
    if (expectedUserId && userId !== expectedUserId) flag(missing, event.lead_id, `notice ${event.idempotency_key} went to ${userId}, not ${expectedUserId}`);
    const ids = (event.data.messageIds as string[] | undefined) ?? [];
    const channels = ids.map((id) => outbound.find((m) => m.id === id)?.channel ?? 'missing').sort();
    const expected = [...(people.get(userId)?.notifyBy ?? [])].sort();
    if (channels.join() !== expected.join()) flag(missing, event.lead_id, `notice ${event.idempotency_key} sent by [${channels.join(', ')}], the recipient has [${expected.join(', ')}]`);
  }

  /** The SMS step of a lead: skipped without a phone, suppressed once the phone opted out. */
  function checkLeadSms(record: LeadRecord, leadId: string, step: number, message: MessageRow | null, skipped: EventRow | null) {
    if (!record.plan.phone) {
      if (message || skipped?.type !== 'message_skipped') flag(optOut, leadId, `cadence ${step}: an SMS for a lead without a phone`);
      return;
    }
    if (!message) return flag(missing, leadId, `cadence ${step}: SMS skipped though the lead has a phone`);
    const stoppedAt = record.stop?.ackAt ?? null;
    const optedOutBefore = record.plan.kind === 'opted_out' || (stoppedAt !== null && message.created_at.getTime() > stoppedAt);
    if (optedOutBefore && message.status !== 'suppressed') flag(optOut, leadId, `cadence ${step}: SMS to an opted-out number is ${message.status}, not suppressed`);
  }

  // Provider calls, counted at the fakes: Twilio carries our message id in its status callback URL,
  // SendGrid in the custom args.
  const smsRows = new Map(outbound.filter((m) => m.channel === 'sms').map((m) => [m.id, m]));
  const twilioPosts = system.twilio.requests.filter((r) => r.method === 'POST');
  const twilioByMessage = groupBy(twilioPosts, (r) => {
    const callback = new URLSearchParams(r.body).get('StatusCallback');
    return callback ? new URL(callback).searchParams.get('messageId') : 'none';
  });
  const acceptedSms = new Map(system.twilio.messages.map((m) => [m.statusCallback ? new URL(m.statusCallback).searchParams.get('messageId') : 'none', m]));
  provider.checked += twilioPosts.length;
  for (const [messageId, posts] of twilioByMessage) {
    const row = smsRows.get(messageId);
    if (!row) flag(provider, null, `${posts.length} Twilio calls for message ${messageId}, which is not an outbound SMS row`);
    else if (posts.length !== 1) flag(provider, row.lead_id, `${posts.length} Twilio calls for ${row.idempotency_key}`);
    else if (row.status !== 'sent' && row.status !== 'delivered') flag(provider, row.lead_id, `Twilio took ${row.idempotency_key} but the row says ${row.status}`);
    else if (row.provider_id !== acceptedSms.get(messageId)?.sid) flag(provider, row.lead_id, `${row.idempotency_key} has SID ${row.provider_id}, Twilio gave ${acceptedSms.get(messageId)?.sid}`);
  }
  for (const row of smsRows.values()) {
    if ((row.status === 'sent' || row.status === 'delivered') && !twilioByMessage.has(row.id)) flag(provider, row.lead_id, `${row.idempotency_key} is ${row.status} but never reached Twilio`);
  }
  const emailRows = new Map(outbound.filter((m) => m.channel === 'email').map((m) => [m.id, m]));
  const sendgridPosts = system.sendgrid.requests.filter((r) => r.method === 'POST');
  const sendgridByMessage = groupBy(sendgridPosts, (r) => (JSON.parse(r.body) as SentMail).custom_args?.messageId ?? 'none');
  const acceptedMail = new Map(system.sendgrid.accepted.map((a) => [a.mail.custom_args?.messageId ?? 'none', a]));
  provider.checked += sendgridPosts.length;
  let emailsGivenUpButAccepted = 0;
  for (const [messageId, posts] of sendgridByMessage) {
    const row = emailRows.get(messageId);
    if (!row) flag(provider, null, `${posts.length} SendGrid calls for message ${messageId}, which is not an outbound email row`);
    else if (posts.length !== 1) flag(provider, row.lead_id, `${posts.length} SendGrid calls for ${row.idempotency_key}`);
    else if (row.status === 'failed') emailsGivenUpButAccepted++;
    else if (row.status !== 'sent' && row.status !== 'delivered') flag(provider, row.lead_id, `SendGrid took ${row.idempotency_key} but the row says ${row.status}`);
    else if (row.provider_id !== acceptedMail.get(messageId)?.messageId) flag(provider, row.lead_id, `${row.idempotency_key} has id ${row.provider_id}, SendGrid gave ${acceptedMail.get(messageId)?.messageId}`);
  }
  for (const row of emailRows.values()) {
    if ((row.status === 'sent' || row.status === 'delivered') && !sendgridByMessage.has(row.id)) flag(provider, row.lead_id, `${row.idempotency_key} is ${row.status} but never reached SendGrid`);
  }

  // Opt-outs, at the fake: numbers that said STOP before their lead came in get nothing, ever; one
  // that says STOP mid-run gets nothing claimed after the STOP was recorded.
  let smsInFlightAtStop = 0;
  for (const record of records) {
    if (!record.plan.phone || (record.plan.kind !== 'opted_out' && !record.stop)) continue;
    optOut.checked++;
    const accepted = system.twilio.accepted(record.plan.phone);
    if (record.plan.kind === 'opted_out') {
      if (accepted.length) flag(optOut, record.leadId, `${accepted.length} SMS reached Twilio for ${record.plan.phone}, which opted out before the lead came in`);
      continue;
    }
    const ackAt = record.stop?.ackAt;
    if (!ackAt) {
      flag(optOut, record.leadId, 'its STOP never got an answer');
      continue;
    }
    for (const sms of accepted.filter((m) => m.dateCreated.getTime() > ackAt)) {
      const messageId = sms.statusCallback ? new URL(sms.statusCallback).searchParams.get('messageId') : null;
      const row = messageId ? smsRows.get(messageId) : undefined;
      if (row && row.created_at.getTime() < ackAt && sms.dateCreated.getTime() <= ackAt + IN_FLIGHT_GRACE_MS) smsInFlightAtStop++;
      else flag(optOut, record.leadId, `SMS ${row?.idempotency_key ?? messageId} reached Twilio ${sms.dateCreated.getTime() - ackAt} ms after its STOP was recorded`);
    }
  }

  function keyIndex(event: EventRow, kind: 'assign' | 'escalation'): number {
    const match = new RegExp(`:${kind}:(\\d+)$`).exec(event.idempotency_key ?? '');
    return match ? Number(match[1]) : -1;
  }

  // Every lead workflow Temporal knows of belongs to a lead the driver made, except one kind: the API
  // starts the workflow before it commits the lead, so a fault between the two leaves a workflow whose
  // lead was rolled back (the client got a 500 and tried again). That one must have failed at once,
  // on LeadNotFound, having written nothing.
  const known = new Set(records.map((r) => r.leadId).filter(Boolean));
  const workflows: Record<string, number> = {};
  let orphans = 0;
  for await (const execution of system.temporal.workflow.list({ query: `WorkflowType = 'leadWorkflow'` })) {
    workflows[execution.status.name] = (workflows[execution.status.name] ?? 0) + 1;
    const leadId = execution.workflowId.replace(/^lead-/, '');
    if (known.has(leadId)) continue;
    const failure = execution.status.name === 'FAILED' ? await failureType(system.temporal.workflow.getHandle(execution.workflowId).result()) : null;
    if (!leads.has(leadId) && !eventsByLead.has(leadId) && failure === nonRetryableErrors.leadNotFound) orphans++;
    else flag(workflow, null, `workflow ${execution.workflowId} (${execution.status.name}${failure ? `, ${failure}` : ''}) belongs to no lead the driver made`);
  }

  const statuses: Record<string, number> = {};
  for (const lead of leads.values()) statuses[lead.status] = (statuses[lead.status] ?? 0) + 1;
  const figures: RunFigures = {
    twilioSends: twilioPosts.length,
    twilioLookups: system.twilio.requests.filter((r) => r.method === 'GET').length,
    smsSent: [...smsRows.values()].filter((m) => m.status === 'sent' || m.status === 'delivered').length,
    smsSuppressed: [...smsRows.values()].filter((m) => m.status === 'suppressed').length,
    smsSkipped: events.filter((e) => e.type === 'message_skipped').length,
    sendgridSends: sendgridPosts.length,
    emailsSent: [...emailRows.values()].filter((m) => m.status === 'sent' || m.status === 'delivered').length,
    emailsGivenUp: [...emailRows.values()].filter((m) => m.status === 'failed' && interrupted(m)).length,
    emailsGivenUpButAccepted,
    smsInFlightAtStop,
    contactsRecordedByWorkflow: events.filter((e) => e.type === 'contacted' && e.data.recordedBy === 'workflow').length,
    otherFailures: outbound.filter((m) => m.status === 'failed' && !interrupted(m)).map((m) => `${m.idempotency_key}: ${m.error}`),
  };
  return { checks: [state, workflow, duplicates, missing, provider, optOut], figures, workflows, statuses, orphans };
}
