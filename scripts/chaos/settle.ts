import type { Client } from '@temporalio/client';
import { leadWorkflowId } from '../../domain/lead.js';
import type { PolicyRules } from '../../domain/policy.js';
import { explainQuery, type CloseResult, type LeadExplanation } from '../../workflows/definitions.js';

/** A lead's workflow as Temporal describes it, with its result when it closed and its own account when open. */
export interface WorkflowView {
  status: string;
  result: CloseResult | null;
  explain: LeadExplanation | null;
  pendingActivities: number;
  pendingWorkflowTask: boolean;
}

/**
 * Settled means nothing more will happen to the lead without someone acting on it:
 * - its workflow has closed (completed, or failed, which the checks then report), or
 * - it is running and quiescent: no workflow task or activity pending, no deadline ahead
 *   (`explain` has no next action), and it is waiting for first contact with every escalation of
 *   the policy done. In this run that is the only state a lead may rest in while open: a contacted
 *   lead's cadence always ends by closing it, and nobody's capacity runs out, so nothing queues.
 */
export function isSettled(view: WorkflowView, rules: PolicyRules): boolean {
  if (view.status !== 'RUNNING') return true;
  const explain = view.explain;
  return (
    view.pendingActivities === 0 &&
    !view.pendingWorkflowTask &&
    explain !== null &&
    explain.nextActionAt === null &&
    explain.phase === 'first_contact' &&
    explain.plan.escalationsDone === rules.escalation.length
  );
}

export async function inspectWorkflow(temporal: Client, leadId: string): Promise<WorkflowView> {
  const handle = temporal.workflow.getHandle(leadWorkflowId(leadId));
  const described = await handle.describe();
  const status = described.status.name;
  const view: WorkflowView = {
    status,
    result: null,
    explain: null,
    pendingActivities: described.raw.pendingActivities?.length ?? 0,
    pendingWorkflowTask: Boolean(described.raw.pendingWorkflowTask),
  };
  if (status === 'COMPLETED') view.result = (await handle.result()) as CloseResult;
  if (status === 'RUNNING') view.explain = await handle.query(explainQuery);
  return view;
}

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * Polls every lead's workflow until all are settled. A backlog (a slow machine, workers just killed)
 * drains at its own pace, so the wait goes on while leads keep settling; the leads still unsettled
 * once none has settled for `stallMs` (or after `maxMs` in all) are stuck.
 */
export async function waitUntilSettled(temporal: Client, leadIds: string[], rules: PolicyRules, limits: { stallMs: number; maxMs: number }, say: (line: string) => void) {
  const views = new Map<string, WorkflowView>();
  const pending = new Set(leadIds);
  const started = Date.now();
  let lastProgress = started;
  let lastSaid = started;
  for (;;) {
    const before = pending.size;
    await inParallel([...pending], 16, async (leadId) => {
      try {
        const view = await inspectWorkflow(temporal, leadId);
        views.set(leadId, view);
        if (isSettled(view, rules)) pending.delete(leadId);
      } catch {
        // A query needs a worker and the server; both may still be finding their feet. Next round.
      }
    });
    if (pending.size < before) lastProgress = Date.now();
    if (pending.size === 0 || Date.now() - lastProgress > limits.stallMs || Date.now() - started > limits.maxMs) break;
    if (Date.now() - lastSaid > 15_000) {
      say(`  ${pending.size} leads not settled yet`);
      lastSaid = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  return { views, settledAfterMs: Date.now() - started, unsettled: [...pending] };
}
