/**
 * `npm run deploy:check`: before new workflow code rolls out, replay a sample of the leads' real
 * histories from the configured Temporal against the workflow code in this working tree, and fail
 * on any history the new code would not replay (see README, "Before a deploy").
 *
 *   npm run deploy:check -- [--per-status 20] [--workflow-id lead-… …] [--task-queue leads] [--json]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection, WorkflowNotFoundError, type WorkflowExecutionInfo } from '@temporalio/client';
import { historyToJSON, type History } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { readConfig, type Config } from '../config.js';
import { leadStatuses, type LeadStatus } from '../domain/lead.js';
import { searchAttributes } from '../workflows/definitions.js';
import { bundleLeadWorkflows, workflowsPath as workingTreeWorkflows } from '../worker.js';
import { temporalConnectionOptions, type TemporalSettings } from '../temporalConnection.js';

export const DEFAULT_PER_STATUS = 20;

export interface DeployCheckOptions {
  client: Client;
  /** Sample only lead workflows on this task queue (the one the new worker will serve); all queues when absent. */
  taskQueue?: string;
  /** Running histories per status, and as many recently closed ones. */
  perStatus?: number;
  /** Check these workflows (their latest runs) instead of a sample. */
  workflowIds?: string[];
  /** The workflow code to replay with; the working tree's by default (tests pass an incompatible build). */
  workflowsPath?: string;
}

/** One sampled history: which run, and where it came from. */
interface SampledRun {
  workflowId: string;
  runId: string;
  /** The lead's `LeadStatus` search attribute; `unknown` for a run that had not set it. */
  status: LeadStatus | 'unknown';
  closed: boolean;
}

export interface StatusLine {
  status: LeadStatus | 'unknown';
  sampled: number;
  running: number;
  closed: number;
  ok: number;
  failed: number;
}

export interface ReplayFailure {
  workflowId: string;
  runId: string;
  status: LeadStatus | 'unknown';
  /** `nondeterminism`: the code issues different commands than the history holds; `workflow_task_failed`: the code throws on it. */
  kind: 'nondeterminism' | 'workflow_task_failed';
  /** The history event the replay diverged at, when the SDK's message names it or something only it has (a patch, an activity id). */
  eventId: number | null;
  eventType: string | null;
  /** The SDK core's own words (with its TMPRL code), without the SDK's generic preamble. */
  reason: string;
}

export interface DeployCheckReport {
  namespace: string;
  taskQueue: string | null;
  workflowsPath: string;
  statuses: StatusLine[];
  failures: ReplayFailure[];
  /** Histories that were listed or asked for but could not be fetched. */
  unreadable: { workflowId: string; runId: string | null; reason: string }[];
  replayed: number;
  failed: number;
  /** 0: every history replayed; 1: at least one did not; 2: the check could not be made (see README). */
  exitCode: 0 | 1 | 2;
  verdict: string;
}

/**
 * The one place the check connects to Temporal, so TLS or an API key for production is added here once.
 * Takes the settings the worker and the API read.
 */
export async function connectTemporal(config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'> & TemporalSettings): Promise<Client> {
  if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is not set: point it at the Temporal frontend to check against');
  const connection = await Connection.connect(temporalConnectionOptions(config.TEMPORAL_ADDRESS, config));
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}

const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

async function firstOf(client: Client, query: string, limit: number): Promise<WorkflowExecutionInfo[]> {
  const found: WorkflowExecutionInfo[] = [];
  if (limit <= 0) return found;
  for await (const execution of client.workflow.list({ query, pageSize: limit })) {
    found.push(execution);
    if (found.length >= limit) break;
  }
  return found;
}

const sampledRun = (execution: Pick<WorkflowExecutionInfo, 'workflowId' | 'runId' | 'status' | 'typedSearchAttributes'>): SampledRun => {
  const status = execution.typedSearchAttributes.get(searchAttributes.status);
  return {
    workflowId: execution.workflowId,
    runId: execution.runId,
    status: (leadStatuses as readonly string[]).includes(status ?? '') ? (status as LeadStatus) : 'unknown',
    closed: execution.status.name !== 'RUNNING',
  };
};

/**
 * Up to `perStatus` running leads of each status, and as many closed runs. Closed histories are worth
 * replaying: a query on a closed lead (the lead page asks `explain`) replays its whole history on the
 * new worker, and they run the closing paths (convert, lose, end of cadence, continue-as-new) that
 * the running sample has not reached yet. Visibility lists closed runs newest close first (its default order).
 */
async function sampleLeads(client: Client, taskQueue: string | undefined, perStatus: number): Promise<SampledRun[]> {
  const scope = `WorkflowType = 'leadWorkflow'${taskQueue ? ` AND TaskQueue = ${quote(taskQueue)}` : ''}`;
  const lists = await Promise.all(
    leadStatuses.flatMap((status) => [
      firstOf(client, `${scope} AND ExecutionStatus = 'Running' AND LeadStatus = '${status}'`, perStatus),
      firstOf(client, `${scope} AND ExecutionStatus != 'Running' AND LeadStatus = '${status}'`, perStatus),
    ]),
  );
  return lists.flat().map(sampledRun);
}

async function namedLeads(client: Client, workflowIds: string[], unreadable: DeployCheckReport['unreadable']): Promise<SampledRun[]> {
  const runs: SampledRun[] = [];
  for (const workflowId of workflowIds) {
    try {
      runs.push(sampledRun(await client.workflow.getHandle(workflowId).describe()));
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      unreadable.push({ workflowId, runId: null, reason: 'no such workflow' });
    }
  }
  return runs;
}

/**
 * Fetches a few histories ahead of the replay, in sample order; one that cannot be fetched is noted and
 * skipped. The replay takes one history at a time and reports on it before asking for the next, so each
 * run is put on `replaying` as it goes in and taken off as its result comes out.
 */
async function* histories(client: Client, runs: SampledRun[], replaying: { run: SampledRun; history: History }[], unreadable: DeployCheckReport['unreadable']) {
  const AHEAD = 4;
  const fetch = (run: SampledRun) =>
    client.workflow
      .getHandle(run.workflowId, run.runId)
      .fetchHistory()
      .then(
        (history) => ({ run, history }),
        (error: unknown) => ({ run, error }),
      );
  const pending = runs.slice(0, AHEAD).map(fetch);
  for (let next = AHEAD; pending.length > 0; next += 1) {
    const result = await pending.shift()!;
    if (next < runs.length) pending.push(fetch(runs[next]!));
    if ('error' in result) {
      unreadable.push({ workflowId: result.run.workflowId, runId: result.run.runId, reason: String(result.error) });
      continue;
    }
    replaying.push(result);
    yield { workflowId: result.run.workflowId, history: result.history };
  }
}

interface HistoryEventJSON {
  eventId: string;
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityId?: string };
  markerRecordedEventAttributes?: { markerName?: string; details?: Record<string, { payloads?: { data?: string }[] }> };
}

/** `EVENT_TYPE_MARKER_RECORDED` → `MarkerRecorded`, as the Temporal UI and CLI name events. */
const eventTypeName = (raw: string) =>
  raw
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, _sep: string, letter: string) => letter.toUpperCase());

const markerText = (event: HistoryEventJSON) =>
  Object.values(event.markerRecordedEventAttributes?.details ?? {})
    .flatMap((detail) => detail.payloads ?? [])
    .map((payload) => Buffer.from(payload.data ?? '', 'base64').toString('utf8'))
    .join(' ');

/**
 * Core names the event outright for most divergences (`HistoryEvent(id: 5, MarkerRecorded)`). For a
 * patch marker or an activity whose id differs it names the patch or the activity id instead; each is
 * unique within a run, so the event is looked up in the history by it.
 */
const eventLocators: [RegExp, (match: RegExpExecArray, event: HistoryEventJSON) => boolean][] = [
  [/HistoryEvent\(id: (\d+)/, (match, event) => event.eventId === match[1]],
  [
    /patch marker encountered for change (\S+?),? but/,
    (match, event) => event.markerRecordedEventAttributes?.markerName === 'core_patch' && markerText(event).includes(`"${match[1]}"`),
  ],
  [/Activity id of scheduled event '([^']*)'/, (match, event) => event.activityTaskScheduledEventAttributes?.activityId === match[1]],
  [
    /Activity id of recorded marker '([^']*)'/,
    (match, event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity' && markerText(event).includes(`"activity_id":"${match[1]}"`),
  ],
];

/** Where the replay diverged, as far as the SDK's message and the history tell. */
export function divergence(error: Error, history: History): Pick<ReplayFailure, 'kind' | 'eventId' | 'eventType' | 'reason'> {
  // The SDK wraps core's words in its own preamble and, for a failed activation, in a Rust debug print.
  const details = error.message.replace(/^.*?Details: /s, '');
  const reason = /message: "((?:[^"\\]|\\.)*)"/.exec(details)?.[1]?.replace(/\\(.)/g, '$1') ?? details;
  const kind = error instanceof DeterminismViolationError ? 'nondeterminism' : 'workflow_task_failed';
  for (const [pattern, matches] of eventLocators) {
    const match = pattern.exec(reason);
    if (!match) continue;
    const events = (JSON.parse(historyToJSON(history)) as { events: HistoryEventJSON[] }).events;
    const event = events.find((candidate) => matches(match, candidate));
    if (event) return { kind, eventId: Number(event.eventId), eventType: eventTypeName(event.eventType), reason };
  }
  return { kind, eventId: null, eventType: null, reason };
}


/**
 * Samples lead histories and replays them with the workflow code the worker would run: one bundle,
 * made with the worker's preloaded and interceptor modules. Throws when Temporal cannot be asked
 * (unreachable, a listing refused); everything else is in the report.
 */
export async function runDeployCheck(options: DeployCheckOptions): Promise<DeployCheckReport> {
  const { client, taskQueue, perStatus = DEFAULT_PER_STATUS, workflowIds = [], workflowsPath = workingTreeWorkflows } = options;
  const unreadable: DeployCheckReport['unreadable'] = [];
  const sampled = workflowIds.length ? await namedLeads(client, workflowIds, unreadable) : await sampleLeads(client, taskQueue, perStatus);
  const runs = [...new Map(sampled.map((run) => [run.runId, run])).values()];

  const failures: ReplayFailure[] = [];
  const replayedOk = new Set<string>();
  if (runs.length > 0) {
    const code = await bundleLeadWorkflows(workflowsPath);
    const replaying: { run: SampledRun; history: History }[] = [];
    const results = Worker.runReplayHistories({ workflowBundle: { code }, replayName: 'deploy-check' }, histories(client, runs, replaying, unreadable));
    for await (const result of results) {
      const { run, history } = replaying.shift()!;
      if (!result.error) replayedOk.add(run.runId);
      else failures.push({ workflowId: run.workflowId, runId: run.runId, status: run.status, ...divergence(result.error, history) });
    }
  }

  const statuses: StatusLine[] = [...leadStatuses, 'unknown' as const]
    .map((status) => {
      const of = runs.filter((run) => run.status === status);
      return {
        status,
        sampled: of.length,
        running: of.filter((run) => !run.closed).length,
        closed: of.filter((run) => run.closed).length,
        ok: of.filter((run) => replayedOk.has(run.runId)).length,
        failed: failures.filter((failure) => failure.status === status).length,
      };
    })
    .filter((line) => line.status !== 'unknown' || line.sampled > 0);
  const replayed = replayedOk.size + failures.length;
  // A check that replayed nothing proved nothing: a wrong namespace or task queue looks exactly like this.
  const exitCode = failures.length > 0 ? 1 : unreadable.length > 0 || replayed === 0 ? 2 : 0;
  return {
    namespace: client.options.namespace,
    taskQueue: workflowIds.length ? null : (taskQueue ?? null),
    workflowsPath,
    statuses,
    failures,
    unreadable,
    replayed,
    failed: failures.length,
    exitCode,
    verdict: `deploy check: ${replayed} histories replayed, ${failures.length} failed`,
  };
}

export function formatReport(report: DeployCheckReport): string {
  const lines = [`namespace ${report.namespace}, task queue ${report.taskQueue ?? '(all)'}, workflows from ${report.workflowsPath}`];
  for (const line of report.statuses) {
    lines.push(`${line.status}: ${line.sampled} sampled (${line.running} running, ${line.closed} closed), ${line.ok} replayed ok, ${line.failed} failed`);
    for (const failure of report.failures.filter((f) => f.status === line.status)) {
      const event = failure.eventId === null ? 'event not named' : `event ${failure.eventId}${failure.eventType ? ` ${failure.eventType}` : ''}`;
      lines.push(`  FAILED ${failure.workflowId} run ${failure.runId} at ${event}: ${failure.reason}`);
    }
  }
  for (const missing of report.unreadable) {
    lines.push(`could not read ${missing.workflowId}${missing.runId ? ` run ${missing.runId}` : ''}: ${missing.reason}`);
  }
  if (report.replayed === 0) lines.push('nothing to replay: check TEMPORAL_NAMESPACE, --task-queue and --workflow-id');
  lines.push(report.verdict);
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'per-status': { type: 'string' },
      'workflow-id': { type: 'string', multiple: true },
      'task-queue': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const perStatus = Number(values['per-status'] ?? DEFAULT_PER_STATUS);
  if (!Number.isInteger(perStatus) || perStatus < 1) throw new Error(`--per-status must be a whole number above 0, not ${values['per-status']}`);
  // The check signs no sessions: production's JWT_SECRET requirement is not its business.
  const config = readConfig({ ...process.env, NODE_ENV: undefined });
  // Core warns of each nondeterministic replay on the console; the report already says it, once and in order.
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } } });
  const client = await connectTemporal(config);
  try {
    const report = await runDeployCheck({
      client,
      taskQueue: values['task-queue'] ?? config.TEMPORAL_TASK_QUEUE,
      perStatus,
      workflowIds: values['workflow-id'] ?? [],
    });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
    return report.exitCode;
  } finally {
    await client.connection.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      // Temporal unreachable, a listing refused, the workflows not bundling: the check could not be made.
      console.error(`deploy check could not run: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(2);
    },
  );
}
