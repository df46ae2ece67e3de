import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { LeadActivities } from '../activities/index.js';
import type { NoticeKind } from '../activities/messages.js';
import { isClosed, leadWorkflowId, type ClosedLeadStatus } from '../domain/lead.js';
import { overdueEscalations, pauseClock, planLead, resumeClock, startClock, type EscalationStep, type LeadClock, type LeadPlanState, type PlannedStep } from '../domain/planner.js';
import {
  assignmentOpportunitySignal,
  contactedSignal,
  convertUpdate,
  explainQuery,
  inboundMessageSignal,
  leadUpdatedSignal,
  loseUpdate,
  nonRetryableErrors,
  pauseSignal,
  policyChangedSignal,
  reassignUpdate,
  resumeSignal,
  searchAttributes,
  type AssignmentDecision,
  type CarriedLeadState,
  type CloseResult,
  type ConvertInput,
  type LeadExplanation,
  type LeadWorkflowInput,
  type LoseInput,
  type ReassignInput,
} from './definitions.js';
import { patches } from './patches.js';

/** Each database step is one short transaction, idempotent by its key; a worker that died mid-step is noticed this soon. */
const databaseStep = {
  startToCloseTimeout: '10s',
  retry: {
    initialInterval: '1s',
    maximumInterval: '1m',
    nonRetryableErrorTypes: Object.values(nonRetryableErrors),
  },
} as const;
const remoteSteps = proxyActivities<LeadActivities>(databaseStep);
const localSteps = proxyLocalActivities<LeadActivities>(databaseStep);
/**
 * The database steps run as local activities, in the worker that runs the workflow: no task-queue round
 * trip, one marker in the history instead of six events, so a new lead's context, assignment and task
 * are one workflow task. Patched: runs begun with regular activities replay with them.
 */
const steps = () => (patched(patches.databaseStepsAsLocalActivities) ? localSteps : remoteSteps);

/**
 * Messages go through a provider that may be down for a while: a few spaced attempts, then the send is
 * recorded as failed on the lead (the last attempt knows it is the last) and the cadence goes on. The
 * timeout is longer than a provider call may take (10s), so attempts never overlap.
 */
const messaging = proxyActivities<Pick<LeadActivities, 'sendLeadMessage' | 'notifyStaff'>>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 3,
    maximumInterval: '2m',
    maximumAttempts: 5,
    nonRetryableErrorTypes: Object.values(nonRetryableErrors),
  },
});

/** A queued lead asks again at least this often, in case a change reached nobody's signal. */
const QUEUE_POLL_MS = 15 * 60_000;
/** Continue-as-new before the history grows past this many events (Temporal warns at 10k). */
const DEFAULT_HISTORY_LIMIT = 2_000;

const replyTitles = {
  sms: 'Reply to the lead’s text',
  email: 'Reply to the lead’s email',
  form: 'The lead asked again through a form: get back to them',
} as const;

const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());

/**
 * One lead's life: assign it (or queue it until someone can take it), hold the first-contact clock
 * and escalate as it runs out, run the follow-up cadence after contact, and close. Every write is
 * an activity; this code only decides, from `domain/planner.ts`, which the API's simulation shares.
 */
export async function leadWorkflow(input: LeadWorkflowInput): Promise<CloseResult> {
  const { leadId } = input;
  const workflowId = workflowInfo().workflowId;
  const historyLimit = input.historyLimit ?? DEFAULT_HISTORY_LIMIT;
  // Handlers are registered before the first await, so a query or signal that reaches a new run
  // (just started, or just continued as new) is answered; the team's setting arrives with the context.
  const state: CarriedLeadState = input.carried ?? {
    phase: 'queued',
    clock: null,
    escalationsDone: 0,
    cadenceDone: 0,
    timezone: 'UTC',
    status: 'new',
    assigneeId: null,
    assigneeEmail: null,
    escalationLevel: 0,
    policyVersion: 0,
    hadLead: [],
    pause: null,
    lastAssignment: null,
    managerToldQueued: false,
    assignments: 0,
    pendingReplies: [],
    pendingPolicyVersion: null,
    notices: [],
    setting: null,
  };

  let closing = false;
  let outcome: CloseResult | null = null;
  /** Bumped by every signal, so a wait ends and the plan is made again. */
  let changes = 0;
  const changed = () => {
    changes += 1;
  };
  const plan = () => (state.setting ? planLead(state, state.setting.rules, state.setting.calendar, Date.now()) : { deadlines: [], next: null });
  /** Stops a running clock; one started before the team's setting arrived has counted nothing yet. */
  const pause = (clock: LeadClock) => (state.setting ? pauseClock(clock, Date.now(), state.setting.rules, state.setting.calendar) : { consumedMs: 0, runningSince: null });

  /** The search attributes last written: an unchanged set is not written again (each write is a history event and a visibility update). */
  let published = '';
  const publish = () => {
    const next = plan().deadlines.find((d) => d.at !== null);
    const updates: SearchAttributeUpdatePair[] = [
      { key: searchAttributes.status, value: state.status },
      { key: searchAttributes.escalationLevel, value: state.escalationLevel },
      { key: searchAttributes.nextActionAt, value: next?.at ? new Date(next.at) : null },
    ];
    if (state.assigneeEmail) updates.push({ key: searchAttributes.assignee, value: state.assigneeEmail });
    if (state.setting) updates.push({ key: searchAttributes.team, value: state.setting.teamName });
    const fingerprint = JSON.stringify(updates);
    // Patched: older runs wrote every set, and replay expects each of those writes.
    if (fingerprint === published && patched(patches.publishOnlyChanges)) return;
    published = fingerprint;
    upsertSearchAttributes(updates);
  };

  setHandler(explainQuery, (): LeadExplanation => {
    const deadlines = plan().deadlines.map((d) => ({ ...d, at: iso(d.at) }));
    const { phase, clock, escalationsDone, cadenceDone, timezone } = state;
    return {
      leadId,
      status: state.status,
      assigneeId: state.assigneeId,
      escalationLevel: state.escalationLevel,
      policyVersion: state.setting ? state.policyVersion : null,
      phase,
      pause: state.pause,
      deadlines,
      nextActionAt: deadlines.find((d) => d.at !== null)?.at ?? null,
      lastAssignment: state.lastAssignment,
      plan: { phase, clock, escalationsDone, cadenceDone, timezone },
    };
  });

  setHandler(contactedSignal, async (contact) => {
    const first = state.phase === 'queued' || state.phase === 'first_contact';
    // Deadlines that passed before this contact reached us, and that no step is acting on yet: still
    // breaches (domain/escalation.ts). Patched: older runs let the contact win and dropped those steps.
    const deadlineDecides = first && patched(patches.escalationDeadlineDecides);
    const overdue =
      deadlineDecides && state.setting ? overdueEscalations(state, state.setting.rules, state.setting.calendar, Date.now()).filter((step) => !escalating.has(step.step)) : [];
    // Kept for an assignment this run has yet to hear of (see `assign`).
    if (deadlineDecides) state.firstContactAt ??= contact.at;
    if (first) {
      // The cadence counts from first contact; a paused lead's cadence starts paused.
      state.phase = 'cadence';
      state.clock = state.pause ? { consumedMs: 0, runningSince: null } : startClock(Date.now());
      state.cadenceDone = 0;
    }
    if (state.status === 'new' || state.status === 'assigned') state.status = 'contacted';
    changed();
    for (const step of overdue) await escalate(step, contact.at);
    // The API signals a contact before it commits it; a commit that fails after the signal went through
    // would leave the cadence running with no contact on record. So the contact that starts the cadence
    // is put on record here too (a no-op when the API's commit got there first). Patched: older runs did not.
    if (first && patched(patches.recordFirstContact)) {
      await steps().recordFirstContact({ leadId, key: `${workflowId}:contact`, policyVersion: state.policyVersion, byUserId: contact.byUserId, at: contact.at });
    }
  });

  setHandler(pauseSignal, ({ reason }) => {
    if (!state.pause) {
      state.pause = { reason, since: new Date().toISOString() };
      if (state.clock) state.clock = pause(state.clock);
    }
    changed();
  });

  setHandler(resumeSignal, () => {
    if (state.pause) {
      state.pause = null;
      if (state.clock) state.clock = resumeClock(state.clock, Date.now());
    }
    changed();
  });

  setHandler(inboundMessageSignal, (message) => {
    state.pendingReplies.push(message);
    changed();
  });

  setHandler(policyChangedSignal, ({ version }) => {
    if (version > state.policyVersion) state.pendingPolicyVersion = Math.max(state.pendingPolicyVersion ?? 0, version);
    changed();
  });

  setHandler(assignmentOpportunitySignal, changed);

  setHandler(leadUpdatedSignal, ({ timezone }) => {
    state.timezone = timezone;
    changed();
  });

  /** Signals the queued leads a step left room for; one that has closed meanwhile is skipped. */
  const wake = async (leadIds: string[] | undefined) => {
    for (const id of leadIds ?? []) {
      try {
        await getExternalWorkflowHandle(leadWorkflowId(id)).signal(assignmentOpportunitySignal);
      } catch {
        // Its workflow has completed; the queue head will be found again by the next change.
      }
    }
  };

  const applyAssignment = async (decision: AssignmentDecision) => {
    state.lastAssignment = decision;
    if (decision.assigneeId && !closing) {
      state.assigneeId = decision.assigneeId;
      state.assigneeEmail = decision.assigneeEmail;
      if (!state.hadLead.includes(decision.assigneeId)) state.hadLead.push(decision.assigneeId);
      if (state.status === 'new') state.status = 'assigned';
    }
    publish();
    await wake(decision.wake);
  };

  /**
   * Tells a person by their notification channels. Off duty (and the policy has notices wait), the
   * notice waits in `state.notices` and the main loop sends it when their hours start. A notice
   * that fails on every attempt is on the lead's timeline; the lead goes on without it.
   */
  const notify = async (kind: NoticeKind, key: string, userId: string | null) => {
    try {
      const result = await messaging.notifyStaff({ leadId, key, policyVersion: state.policyVersion, userId, kind });
      if (result.deferredUntil) state.notices.push({ key, kind, userId, at: Date.parse(result.deferredUntil) });
    } catch {
      // Recorded by the activity's last attempt.
    }
  };
  const noticesDue = async () => {
    const due = state.notices.filter((notice) => notice.at <= Date.now());
    state.notices = state.notices.filter((notice) => notice.at > Date.now());
    for (const notice of due) await notify(notice.kind, notice.key, notice.userId);
  };

  const assign = async (reason: 'new_lead' | 'queue' | 'escalation' | 'manual', extra: { exclude?: string[]; assigneeId?: string; byUserId?: string } = {}) => {
    const attempt = state.assignments++;
    const previous = state.assigneeId;
    const decision = await steps().assignLead({
      leadId,
      key: `${workflowId}:assign:${attempt}`,
      policyVersion: state.policyVersion,
      exclude: extra.exclude ?? [],
      reason,
      ...(extra.assigneeId ? { assigneeId: extra.assigneeId, byUserId: extra.byUserId } : {}),
    });
    await applyAssignment(decision);
    // The first-contact clock starts when someone has the lead: when the assignment was decided, as the
    // step recorded it, so a step run again after a lost workflow task yields the same deadlines.
    // Patched: older runs started it when the workflow heard back.
    const assignedAt = patched(patches.escalationDeadlineDecides) ? Date.parse(decision.decidedAt) : Date.now();
    if (decision.assigneeId && state.phase === 'queued' && !closing) {
      state.phase = 'first_contact';
      state.clock = state.pause ? { consumedMs: 0, runningSince: null } : startClock(assignedAt);
      const due = plan().deadlines.find((d) => d.kind === 'first_contact_sla')?.at ?? Date.now();
      await steps().createTask({ leadId, key: `${workflowId}:task:first_contact`, policyVersion: state.policyVersion, kind: 'first_contact', title: 'First contact', dueAt: new Date(due).toISOString() });
      publish();
    } else if (attempt === 0 && decision.assigneeId && state.firstContactAt && assignedAt < Date.parse(state.firstContactAt) && state.setting && !state.pause) {
      // An interrupted first task had assigned the lead before the contact came in, though this run heard
      // of the contact first: the SLA clock ran from that assignment to the contact, and whatever fell
      // due in between is a breach to put on record.
      const ran: LeadPlanState = { phase: 'first_contact', clock: startClock(assignedAt), escalationsDone: 0, cadenceDone: 0, timezone: state.timezone };
      for (const step of overdueEscalations(ran, state.setting.rules, state.setting.calendar, Date.parse(state.firstContactAt))) await escalate(step, state.firstContactAt);
    }
    // After the task, so the notice can say when first contact is due. Who had the lead before is the
    // step's own answer: a workflow task retried after its local steps ran reloads a lead that is already
    // assigned, and must still tell the person the (idempotent) assignment chose.
    const before = decision.previousAssigneeId === undefined ? previous : decision.previousAssigneeId;
    if (decision.assigneeId && decision.assigneeId !== before && !closing) {
      await notify('assignment', `${workflowId}:notice:assign:${attempt}`, decision.assigneeId);
    }
    return decision;
  };

  // Closing: validators refuse before anything is written to history, so the caller gets a clean "no".
  const refuseWhenClosed = () => {
    if (isClosed(state.status)) throw new Error(`Lead is already ${state.status}`);
    if (closing) throw new Error('Lead is already being closed');
  };
  const close = async (status: ClosedLeadStatus, details: { byUserId: string | null; value?: number; notes?: string; reason?: string }) => {
    closing = true;
    const result = await steps().closeLead({ leadId, key: `${workflowId}:close`, policyVersion: state.policyVersion, status, ...details });
    state.status = result.status;
    state.phase = 'closed';
    outcome = result;
    publish();
    await wake(result.wake);
    return result;
  };
  setHandler(convertUpdate, (update: ConvertInput) => close('converted', update), { validator: (_update: ConvertInput) => refuseWhenClosed() });
  setHandler(loseUpdate, (update: LoseInput) => close('lost', update), { validator: (_update: LoseInput) => refuseWhenClosed() });
  setHandler(
    reassignUpdate,
    async ({ assigneeId, byUserId }: ReassignInput) => {
      const decision = await assign('manual', { assigneeId, byUserId });
      changed();
      return decision;
    },
    { validator: (_update: ReassignInput) => refuseWhenClosed() },
  );

  /**
   * Waits until `at` (or forever for null); true when a close, or a signal since `seen`, came first.
   * `seen` is taken before the step's activities, so a signal that lands while they run is not lost.
   */
  const waitUntil = async (at: number | null, seen: number) => {
    const interrupted = () => changes !== seen || closing;
    if (at === null) {
      await condition(interrupted);
      return true;
    }
    return condition(interrupted, Math.max(0, at - Date.now()));
  };

  /** Acts on signals that need an activity: a new policy version, replies from the lead. */
  const takeUpSignals = async () => {
    const version = state.pendingPolicyVersion;
    if (version !== null && version > state.policyVersion) {
      const policy = await steps().applyPolicyVersion({ leadId, key: `${workflowId}:policy:${version}`, policyVersion: version });
      if (state.setting) state.setting.rules = policy.rules;
      state.policyVersion = policy.version;
    }
    state.pendingPolicyVersion = null;
    while (state.pendingReplies.length > 0 && !closing) {
      const message = state.pendingReplies[0]!;
      const key = `${workflowId}:reply:${message.messageId}`;
      await steps().createTask({ leadId, key, policyVersion: state.policyVersion, kind: 'reply', title: replyTitles[message.channel], dueAt: new Date().toISOString() });
      // A lead that writes back is in a conversation now: automated outreach stops until someone resumes it.
      if (state.phase === 'cadence' && !state.pause) {
        await steps().pauseForReply({ leadId, key: `${key}:pause`, policyVersion: state.policyVersion, messageId: message.messageId });
        state.pause = { reason: 'lead replied', since: new Date().toISOString() };
        if (state.clock) state.clock = pause(state.clock);
      }
      state.pendingReplies.shift();
    }
  };

  /** Escalation steps being recorded now, by the main loop or by a contact that found them overdue. */
  const escalating = new Set<number>();
  /**
   * One escalation step: the breach on record first, then what it does. A step that runs once a contact
   * is known (`contactAt`, or on the lead's row) is recorded as late and does nothing more: a reminder
   * or a reassignment after the call is noise. Steps may be recorded side by side (the main loop and a
   * contact), so the counters only move forward.
   */
  const escalate = async (step: EscalationStep, contactAt?: string) => {
    const key = `${workflowId}:escalation:${step.step}`;
    escalating.add(step.step);
    try {
      const result = await steps().escalateLead({ leadId, policyVersion: state.policyVersion, key, step: step.step, action: step.action, dueAt: iso(step.at) ?? undefined, contactAt });
      state.escalationLevel = Math.max(state.escalationLevel, result.escalationLevel);
      state.escalationsDone = Math.max(state.escalationsDone, step.step + 1);
      // Visible to list queries now, not only after the notice has gone out.
      publish();
      if (result.skipped || result.late) return;
      if (step.action === 'reassign') await assign('escalation', { exclude: state.hadLead });
      else if (step.action !== 'raise_priority') await notify(step.action, `${key}:notice`, null);
    } finally {
      escalating.delete(step.step);
    }
  };

  const runStep = async (step: PlannedStep) => {
    const base = { leadId, policyVersion: state.policyVersion };
    if (step.kind === 'escalation' && patched(patches.escalationDeadlineDecides)) {
      // A contact seen since the step was planned has put its overdue steps on record already.
      if (state.phase === 'first_contact') await escalate(step);
    } else if (step.kind === 'escalation') {
      const key = `${workflowId}:escalation:${state.escalationsDone}`;
      if (step.action === 'reassign') {
        await assign('escalation', { exclude: state.hadLead });
        state.escalationLevel = (await steps().raiseEscalationLevel({ ...base, key })).escalationLevel;
        state.escalationsDone += 1;
      } else {
        const result = await steps().escalateLead({ ...base, key, step: step.step, action: step.action });
        state.escalationLevel = result.escalationLevel;
        state.escalationsDone += 1;
        // Visible to list queries now, not only after the notice has gone out.
        publish();
        if (!result.skipped && step.action !== 'raise_priority') await notify(step.action, `${key}:notice`, null);
      }
    } else if (step.kind === 'cadence') {
      const key = `${workflowId}:cadence:${state.cadenceDone}`;
      const definition = state.setting?.rules.cadence[step.step];
      if (definition?.action === 'task') {
        await steps().createTask({ ...base, key, kind: 'follow_up', title: definition.title, dueAt: new Date().toISOString() });
      } else if (definition) {
        try {
          await messaging.sendLeadMessage({ ...base, key, channel: definition.action, template: definition.template });
        } catch {
          // Failed on every attempt: the Message row says so on the lead, and the cadence goes on.
        }
      }
      state.cadenceDone += 1;
    } else if (step.kind === 'cadence_end') {
      await close('unresponsive', { byUserId: null, reason: 'no answer by the end of the cadence' });
    }
  };

  const context = await steps().loadLeadContext({ leadId });
  if (!input.carried) {
    // Signals may have moved the lead on while the context loaded; they win over the row.
    if (state.status === 'new') state.status = context.status;
    state.assigneeId ??= context.assigneeId;
    state.assigneeEmail ??= context.assigneeEmail;
    state.escalationLevel = context.escalationLevel;
    state.policyVersion = context.policy.version;
    state.timezone = context.timezone;
    if (context.assigneeId) state.hadLead.push(context.assigneeId);
  }
  // The team's hours and name are read again on every run; the rules stay the version in force.
  state.setting = { teamName: context.teamName, calendar: context.calendar, rules: state.setting?.rules ?? context.policy.rules };
  // A version saved while the previous run handed over is taken up (and recorded) at the first step.
  if (context.policy.version > state.policyVersion) state.pendingPolicyVersion = context.policy.version;

  publish();
  while (!closing) {
    const seen = changes;
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > historyLimit) {
      await condition(allHandlersFinished);
      if (!closing) return continueAsNew<typeof leadWorkflow>({ leadId, carried: state, historyLimit: input.historyLimit });
    }
    await takeUpSignals();
    await noticesDue();
    if (closing) break;

    // A contact that came before the first assignment (the manager called at once) starts the cadence,
    // but the lead still needs an owner for its follow-ups. Patched: older runs went on unassigned.
    if (state.phase === 'queued' || (state.assignments === 0 && patched(patches.assignLeadContactedBeforeAssignment))) {
      const decision = await assign(state.assignments === 0 ? 'new_lead' : 'queue');
      if (!decision.assigneeId && state.phase === 'queued') {
        if (!state.managerToldQueued) {
          await steps().notifyManagerQueued({ leadId, key: `${workflowId}:queued-notice`, policyVersion: state.policyVersion });
          state.managerToldQueued = true;
        }
        const nextEligible = decision.nextEligibleAt ? Date.parse(decision.nextEligibleAt) : Number.POSITIVE_INFINITY;
        await waitUntil(Math.min(nextEligible, Date.now() + QUEUE_POLL_MS), seen);
      }
      continue;
    }

    const next = plan().next;
    publish();
    const stepAt = next?.at ?? null;
    const noticeAt = state.notices.length ? Math.min(...state.notices.map((notice) => notice.at)) : null;
    const wakeAt = stepAt === null ? noticeAt : noticeAt === null ? stepAt : Math.min(stepAt, noticeAt);
    if (await waitUntil(wakeAt, seen)) continue;
    // Woken for a waiting notice, the top of the loop sends it; otherwise the step is due.
    if (next && stepAt !== null && stepAt <= Date.now()) await runStep(next);
    publish();
  }

  await condition(() => outcome !== null && allHandlersFinished());
  return outcome!;
}
