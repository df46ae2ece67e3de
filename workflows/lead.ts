import {
  allHandlersFinished,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { LeadActivities } from '../activities/index.js';
import { firstContactClock, firstContactDeadline, type Deadline } from '../domain/escalation.js';
import { isClosed, type LeadStatus } from '../domain/lead.js';
import type { PolicySnapshot } from '../domain/policy.js';
import {
  contactedSignal,
  convertUpdate,
  explainQuery,
  loseUpdate,
  nonRetryableErrors,
  searchAttributes,
  type AssignmentDecision,
  type CloseResult,
  type ConvertInput,
  type LoseInput,
  type LeadExplanation,
  type LeadWorkflowInput,
} from './definitions.js';

const acts = proxyActivities<LeadActivities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    maximumInterval: '1m',
    nonRetryableErrorTypes: Object.values(nonRetryableErrors),
  },
});

/** How often a lead nobody could take asks again. */
const QUEUE_RETRY = '1m';

/**
 * One lead's life: assign it, hold the first-contact clock and escalate as it runs out,
 * then wait for the lead to be closed. Every write happens in an activity; this code only decides.
 */
export async function leadWorkflow({ leadId }: LeadWorkflowInput): Promise<CloseResult> {
  const workflowId = workflowInfo().workflowId;
  const state = {
    status: 'new' as LeadStatus,
    assigneeId: null as string | null,
    assigneeEmail: null as string | null,
    escalationLevel: 0,
    policy: null as PolicySnapshot | null,
    deadlines: [] as Deadline[],
    lastAssignment: null as AssignmentDecision | null,
    contacted: false,
    closing: false,
    outcome: null as CloseResult | null,
  };
  const policyVersion = () => state.policy?.version ?? 0;

  const publish = () => {
    const next = state.deadlines[0];
    const updates: SearchAttributeUpdatePair[] = [
      { key: searchAttributes.status, value: state.status },
      { key: searchAttributes.escalationLevel, value: state.escalationLevel },
      { key: searchAttributes.nextActionAt, value: next ? new Date(next.at) : null },
    ];
    if (state.assigneeEmail) updates.push({ key: searchAttributes.assignee, value: state.assigneeEmail });
    upsertSearchAttributes(updates);
  };

  setHandler(explainQuery, (): LeadExplanation => ({
    leadId,
    status: state.status,
    assigneeId: state.assigneeId,
    escalationLevel: state.escalationLevel,
    policyVersion: state.policy?.version ?? null,
    deadlines: state.deadlines.map((d) => ({ ...d, at: new Date(d.at).toISOString() })),
    nextActionAt: state.deadlines[0] ? new Date(state.deadlines[0].at).toISOString() : null,
    lastAssignment: state.lastAssignment,
  }));

  setHandler(contactedSignal, () => {
    state.contacted = true;
    if (state.status === 'new' || state.status === 'assigned') state.status = 'contacted';
  });

  // Validators refuse before anything is written to history, so the caller gets a clean "no".
  const refuseWhenClosed = () => {
    if (isClosed(state.status)) throw new Error(`Lead is already ${state.status}`);
    if (state.closing) throw new Error('Lead is already being closed');
  };
  const close = async (run: () => Promise<CloseResult>) => {
    state.closing = true;
    const result = await run();
    state.status = result.status;
    state.outcome = result;
    state.deadlines = [];
    publish();
    return result;
  };
  setHandler(
    convertUpdate,
    (input: ConvertInput) => close(() => acts.closeLead({ leadId, key: `${workflowId}:close`, policyVersion: policyVersion(), status: 'converted', ...input })),
    { validator: (_input: ConvertInput) => refuseWhenClosed() },
  );
  setHandler(
    loseUpdate,
    (input: LoseInput) => close(() => acts.closeLead({ leadId, key: `${workflowId}:close`, policyVersion: policyVersion(), status: 'lost', ...input })),
    { validator: (_input: LoseInput) => refuseWhenClosed() },
  );

  const context = await acts.loadLeadContext({ leadId });
  state.policy = context.policy;
  state.status = context.status;
  state.escalationLevel = context.escalationLevel;
  upsertSearchAttributes([{ key: searchAttributes.team, value: context.teamName }]);
  const rules = context.policy.rules;

  let assignments = 0;
  const assign = async (reason: 'new_lead' | 'retry' | 'escalation', exclude: string[]) => {
    const decision = await acts.assignLead({
      leadId,
      key: `${workflowId}:assign:${assignments++}`,
      policyVersion: policyVersion(),
      exclude,
      reason,
    });
    state.lastAssignment = decision;
    if (decision.assigneeId && !state.closing) {
      state.assigneeId = decision.assigneeId;
      state.assigneeEmail = decision.assigneeEmail;
      if (state.status === 'new') state.status = 'assigned';
    }
    publish();
  };

  // 1. Assign. With nobody eligible the lead waits in the team queue and asks again.
  const settled = () => state.contacted || state.closing;
  await assign('new_lead', []);
  while (!state.assigneeId && !settled()) {
    if (await condition(settled, QUEUE_RETRY)) break;
    await assign('retry', []);
  }

  // 2. The first-contact clock: escalate at each deadline the lead is still uncontacted.
  if (!settled()) {
    const clockStart = Date.now();
    const dueAt = firstContactDeadline(clockStart, rules, context.calendar);
    await acts.createTask({
      leadId,
      key: `${workflowId}:task:first_contact`,
      policyVersion: policyVersion(),
      kind: 'first_contact',
      title: 'First contact',
      dueAt: new Date(dueAt).toISOString(),
    });
    const hadLead: string[] = state.assigneeId ? [state.assigneeId] : [];
    let stepsDone = 0;
    while (!settled()) {
      const clock = firstContactClock(clockStart, Date.now(), rules, context.calendar, stepsDone);
      state.deadlines = clock.deadlines;
      publish();
      const next = clock.next;
      if (!next) {
        await condition(settled);
        break;
      }
      if (await condition(settled, Math.max(0, next.at - Date.now()))) break;

      const key = `${workflowId}:escalation:${next.step}`;
      if (next.action === 'reassign') {
        await assign('escalation', hadLead);
        if (state.assigneeId && !hadLead.includes(state.assigneeId)) hadLead.push(state.assigneeId);
        state.escalationLevel = (await acts.raiseEscalationLevel({ leadId, key, policyVersion: policyVersion() })).escalationLevel;
      } else {
        const result = await acts.escalateLead({ leadId, key, policyVersion: policyVersion(), step: next.step, action: next.action });
        state.escalationLevel = result.escalationLevel;
      }
      stepsDone += 1;
    }
  }

  // 3. Contacted: the follow-up cadence runs here (next milestone); the lead waits to be closed.
  state.deadlines = [];
  publish();
  await condition(() => state.outcome !== null && allHandlersFinished());
  return state.outcome!;
}
