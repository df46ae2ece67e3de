import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

interface Payloads {
  payloads?: { data?: string }[];
}

/** A history event as `historyToJSON` writes it, as far as the rehearsal reads it. */
export interface HistoryEvent {
  eventId: string;
  eventTime: string;
  eventType: string;
  workflowTaskCompletedEventAttributes?: { identity?: string };
  workflowTaskFailedEventAttributes?: { cause?: string; identity?: string; failure?: { message?: string } };
  activityTaskScheduledEventAttributes?: { activityId?: string; activityType?: { name?: string }; input?: Payloads };
  activityTaskCompletedEventAttributes?: { scheduledEventId?: string; result?: Payloads };
  markerRecordedEventAttributes?: { markerName?: string; details?: Record<string, Payloads> };
  timerStartedEventAttributes?: { timerId?: string };
  timerFiredEventAttributes?: { timerId?: string };
  timerCanceledEventAttributes?: { timerId?: string };
}

export interface RunHistory {
  workflowId: string;
  runId: string;
  open: boolean;
  events: HistoryEvent[];
}

const decode = (payloads: Payloads | undefined): unknown => {
  const data = payloads?.payloads?.[0]?.data;
  return data ? JSON.parse(Buffer.from(data, 'base64').toString('utf8')) : null;
};

export async function fetchHistory(temporal: Client, workflowId: string, runId?: string): Promise<HistoryEvent[]> {
  const history = await temporal.workflow.getHandle(workflowId, runId).fetchHistory();
  return (JSON.parse(historyToJSON(history)) as { events: HistoryEvent[] }).events;
}

/** Every run of every lead workflow on the server, each with its full history. */
export async function fetchLeadHistories(temporal: Client): Promise<RunHistory[]> {
  const runs: { workflowId: string; runId: string; open: boolean }[] = [];
  for await (const execution of temporal.workflow.list({ query: `WorkflowType = 'leadWorkflow'` })) {
    runs.push({ workflowId: execution.workflowId, runId: execution.runId, open: execution.status.name === 'RUNNING' });
  }
  const histories: RunHistory[] = [];
  for (let i = 0; i < runs.length; i += 8) {
    histories.push(...(await Promise.all(runs.slice(i, i + 8).map(async (run) => ({ ...run, events: await fetchHistory(temporal, run.workflowId, run.runId) })))));
  }
  return histories;
}

/**
 * Staff notices the workflow holds back for the recipient's working hours, by their step key: a
 * `notifyStaff` whose latest answer was "deferred until". `explain` does not show them (they are not
 * deadlines of the plan), so the history is where they are seen.
 */
export function waitingNotices(events: HistoryEvent[]): { key: string; deferredUntil: string }[] {
  const scheduled = new Map<string, string>();
  const latest = new Map<string, string | null>();
  for (const event of events) {
    const attributes = event.activityTaskScheduledEventAttributes;
    if (attributes?.activityType?.name === 'notifyStaff') scheduled.set(event.eventId, String((decode(attributes.input) as { key: string }).key));
    const completed = event.activityTaskCompletedEventAttributes;
    const key = completed && scheduled.get(completed.scheduledEventId ?? '');
    if (key) latest.set(key, (decode(completed.result) as { deferredUntil: string | null } | null)?.deferredUntil ?? null);
  }
  return [...latest].filter((entry): entry is [string, string] => entry[1] !== null).map(([key, deferredUntil]) => ({ key, deferredUntil }));
}

export interface FailedTask {
  workflowId: string;
  runId: string;
  eventId: number;
  at: string;
  cause: string;
  message: string;
  /** Which release's worker it failed on. */
  worker: string;
}

export interface HistoryFindings {
  runs: number;
  events: number;
  failedTasks: FailedTask[];
  /** Workflow tasks that timed out (a stopped worker's sticky queue), before and after the switch. */
  timedOutTasks: { before: number; after: number };
  /** Workflow tasks completed, by the release whose worker completed them. */
  completedTasks: Record<string, number>;
  /** Runs begun on the old release that the new one took workflow tasks of. */
  carriedRuns: number;
  /** `patched()` ids the new release recorded into runs begun on the old one, with how many runs. */
  patchesTaken: Record<string, number>;
  /** Open runs with a timer neither fired nor cancelled: something is still to happen that explain may not show. */
  pendingTimers: { workflowId: string; runId: string; timerId: string; startedAt: string }[];
}

/**
 * What the histories say about the switch. `releases` names each worker identity (`<pid>@host`); events
 * after `switchedAt` (the old workers had all exited) can only be the new release's doing.
 */
export function readHistories(histories: RunHistory[], releases: Map<string, string>, oldLabel: string, newLabel: string, switchedAt: number): HistoryFindings {
  const findings: HistoryFindings = { runs: histories.length, events: 0, failedTasks: [], timedOutTasks: { before: 0, after: 0 }, completedTasks: {}, carriedRuns: 0, patchesTaken: {}, pendingTimers: [] };
  const release = (identity: string | undefined) => releases.get(identity ?? '') ?? `unknown worker ${identity ?? ''}`;
  for (const run of histories) {
    findings.events += run.events.length;
    const ranOn = new Set<string>();
    const timers = new Map<string, string>();
    const patches = new Set<string>();
    for (const event of run.events) {
      const after = Date.parse(event.eventTime) >= switchedAt;
      switch (event.eventType) {
        case 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED': {
          const by = release(event.workflowTaskCompletedEventAttributes?.identity);
          ranOn.add(by);
          findings.completedTasks[by] = (findings.completedTasks[by] ?? 0) + 1;
          break;
        }
        case 'EVENT_TYPE_WORKFLOW_TASK_FAILED': {
          const failed = event.workflowTaskFailedEventAttributes;
          findings.failedTasks.push({
            workflowId: run.workflowId,
            runId: run.runId,
            eventId: Number(event.eventId),
            at: event.eventTime,
            cause: (failed?.cause ?? 'unspecified').replace(/^WORKFLOW_TASK_FAILED_CAUSE_/, ''),
            message: failed?.failure?.message ?? '',
            worker: release(failed?.identity),
          });
          break;
        }
        case 'EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT':
          findings.timedOutTasks[after ? 'after' : 'before'] += 1;
          break;
        case 'EVENT_TYPE_MARKER_RECORDED': {
          const marker = event.markerRecordedEventAttributes;
          const id = marker?.markerName === 'core_patch' ? String((decode(Object.values(marker.details ?? {})[0]) as { id: string }).id) : null;
          // The SDK's own flags (`__sdk_internal_…`) are not the workflow's patches.
          if (after && id && !id.startsWith('__sdk_internal')) patches.add(id);
          break;
        }
        case 'EVENT_TYPE_TIMER_STARTED':
          timers.set(event.timerStartedEventAttributes?.timerId ?? '', event.eventTime);
          break;
        case 'EVENT_TYPE_TIMER_FIRED':
          timers.delete(event.timerFiredEventAttributes?.timerId ?? '');
          break;
        case 'EVENT_TYPE_TIMER_CANCELED':
          timers.delete(event.timerCanceledEventAttributes?.timerId ?? '');
          break;
      }
    }
    if (ranOn.has(oldLabel) && ranOn.has(newLabel)) {
      findings.carriedRuns += 1;
      for (const id of patches) findings.patchesTaken[id] = (findings.patchesTaken[id] ?? 0) + 1;
    }
    if (run.open) for (const [timerId, startedAt] of timers) findings.pendingTimers.push({ workflowId: run.workflowId, runId: run.runId, timerId, startedAt });
  }
  return findings;
}
