import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { PIPELINE_REPS, PIPELINE_TEAMS } from './config.js';
import { until } from './report.js';
import type { Stack } from './stack.js';
import { createBenchTeams, login, wallClockRules, type BenchTeam } from './teams.js';

export const BARE_QUEUE = 'bench-bare';
export const LEAD_QUEUE = 'bench-leads';

/** What the engine and speed benches run leads and bare workflows on, and the processes whose CPU they count. */
export interface PipelineRig {
  apiUrl: string;
  teams: BenchTeam[];
  /** A signed-in manager per team, in the order of `teams`. */
  tokens: string[];
  /** By name: Temporal's processes, postgres, bareWorker, leadWorker (then bareWorker2, leadWorker2…), api. */
  pids: Record<string, number | null>;
  /** Lead workers on the queue (and as many bare workers on theirs). */
  workers: number;
}

/** A bare worker, the lead worker and the API on the stack, and teams under an hour's SLA with no steps. */
export async function startPipelineRig(stack: Stack, prefix: string): Promise<PipelineRig> {
  const bareWorker = await stack.startBareWorker(BARE_QUEUE);
  const leadWorker = await stack.startLeadWorker(LEAD_QUEUE);
  const api = await stack.startApi(LEAD_QUEUE);
  const teams = await createBenchTeams(stack.orm, { prefix, teams: PIPELINE_TEAMS, reps: PIPELINE_REPS, rules: wallClockRules('1h', []) });
  const tokens = await Promise.all(teams.map((team) => login(api.url, team.manager.email)));
  const pids = { ...stack.temporalPids, postgres: stack.postgresPid, bareWorker: bareWorker.pid, leadWorker: leadWorker.pid, api: api.pid };
  return { apiUrl: api.url, teams, tokens, pids, workers: 1 };
}

/** One more lead worker on the lead queue and one more bare worker on the bare queue, as production scales out: the same task queues, another process. */
export async function addWorkers(stack: Stack, rig: PipelineRig): Promise<PipelineRig> {
  const n = rig.workers + 1;
  const bareWorker = await stack.startBareWorker(BARE_QUEUE);
  const leadWorker = await stack.startLeadWorker(LEAD_QUEUE);
  // Workers before the API in the listing, as startPipelineRig has them.
  const { api, ...rest } = rig.pids;
  return { ...rig, workers: n, pids: { ...rest, [`bareWorker${n}`]: bareWorker.pid, [`leadWorker${n}`]: leadWorker.pid, api: api ?? null } };
}

/** One lead's way from created to its assignee told, from the rows the pipeline writes. */
export interface LeadTiming {
  id: string;
  createdAt: number;
  assignedAt: number | null;
  taskAt: number | null;
  notifiedAt: number | null;
}

/**
 * Created: Lead.createdAt (set by the API before it starts the workflow). Assigned: the `assigned`
 * event. Task: the first-contact Task row. Notified: the assignee's notice Message row marked sent.
 */
export async function leadTimings(sql: pg.Pool, leadIds: string[]): Promise<LeadTiming[]> {
  const { rows } = await sql.query<{ id: string; created_at: Date; assigned_at: Date | null; task_at: Date | null; notified_at: Date | null }>(
    `select l.id, l.created_at,
       (select min(e.at) from lead_event e where e.lead_id = l.id and e.type = 'assigned') as assigned_at,
       (select min(t.created_at) from task t where t.lead_id = l.id and t.kind = 'first_contact') as task_at,
       (select min(m.updated_at) from message m where m.lead_id = l.id and m.template = 'notice_assignment' and m.status = 'sent') as notified_at
     from lead l where l.id = any($1::uuid[])`,
    [leadIds],
  );
  const ms = (d: Date | null) => (d ? d.getTime() : null);
  return rows.map((r) => ({ id: r.id, createdAt: r.created_at.getTime(), assignedAt: ms(r.assigned_at), taskAt: ms(r.task_at), notifiedAt: ms(r.notified_at) }));
}

/** Waits until every lead's assignee has been told (the end of the pipeline). */
export async function waitNotified(sql: pg.Pool, leadIds: string[], timeoutMs: number): Promise<void> {
  await until(
    `${leadIds.length} assignment notices`,
    async () => {
      const { rows } = await sql.query<{ n: string }>(
        `select count(distinct lead_id) as n from message where lead_id = any($1::uuid[]) and template = 'notice_assignment' and status = 'sent'`,
        [leadIds],
      );
      return Number(rows[0]!.n) >= leadIds.length;
    },
    timeoutMs,
    1_000,
  );
}

/** Completed bare workflows started since `since`, by workflow id, with their close time (server clock). */
export async function bareCloseTimes(client: Client, workflowType: string, since: Date, expected: number, timeoutMs: number): Promise<Map<string, number>> {
  const query = `WorkflowType = '${workflowType}' AND ExecutionStatus = 'Completed' AND StartTime >= '${since.toISOString()}'`;
  await until(`${expected} completed ${workflowType} runs`, async () => (await client.workflow.count(query)).count >= expected, timeoutMs, 500);
  const closed = new Map<string, number>();
  for await (const info of client.workflow.list({ query })) {
    if (info.closeTime) closed.set(info.workflowId, info.closeTime.getTime());
  }
  return closed;
}
