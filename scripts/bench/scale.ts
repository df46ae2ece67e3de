/**
 * Scale: many open lead workflows waiting on timers on one dev server and one worker, the memory
 * that takes, then a batch of first-contact deadlines due within about a minute and how late their
 * escalations are recorded. Beside it: both processes' memory before any lead, and bare workflows
 * whose timers are due at the same spacing, for the engine's own lateness.
 *
 * The leads that escalate are created first and the rest after them, so by the time their timers
 * fire the worker has long evicted them from its cache and replays each one: the worst case.
 */
import { LeadSchema, TeamSchema } from '../../db/entities.js';
import { createLead } from '../../api/newLead.js';
import { leadWorkflowId } from '../../domain/lead.js';
import { explainQuery } from '../../workflows/definitions.js';
import type { BenchSize } from './config.js';
import { inPool, Latencies, memoryOf, round, say, sleep, until, verdict, type LatencySummary } from './report.js';
import { startStack, type Stack } from './stack.js';
import { createBenchTeams, wallClockRules, type BenchTeam } from './teams.js';

const LEAD_QUEUE = 'bench-scale';
const BARE_QUEUE = 'bench-scale-bare';
const TARGET_P99_MS = 2_000;
/** Leads being started at once; each batch waits for its assignments, so the worker never builds a backlog. */
const BATCH = 500;
const CONCURRENCY = 20;

export interface ScaleResult {
  openWorkflows: number;
  createdPerSecond: number;
  memoryMiB: {
    idle: { worker: number; temporal: number };
    open: { worker: number; temporal: number };
    afterTimers: { worker: number; temporal: number; workerPeak: number; temporalPeak: number };
  };
  due: { count: number; spreadSeconds: number; firstDueInSeconds: number; sla: string; arrivalPerSecond: number; escalatedPerSecond: number };
  lateness: { escalations: LatencySummary & { min: number }; bareTimers: LatencySummary & { min: number } };
  met: boolean;
}

/** Leads as a bulk import makes them (the API's own createLead, no HTTP), in batches that wait for their assignments. */
async function createLeads(stack: Stack, teams: BenchTeam[], tag: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let from = 0; from < count; from += BATCH) {
    const size = Math.min(BATCH, count - from);
    const batch = await inPool(size, CONCURRENCY, async (i) => {
      const n = from + i;
      const em = stack.orm.em.fork();
      const team = await em.findOneOrFail(TeamSchema, teams[n % teams.length]!.id);
      const fields = { name: `Scale Lead ${tag}-${n}`, email: `scale-${tag}-${n}@bench.test`, source: 'import', priority: 'normal' as const };
      const lead = await em.transactional((tx) => createLead(tx, stack.client, LEAD_QUEUE, { fields, team, actor: null, via: 'import' }));
      return lead.id;
    });
    await until(
      `${size} first-contact tasks`,
      async () => {
        const { rows } = await stack.sql.query<{ n: string }>(`select count(*) as n from task where kind = 'first_contact' and lead_id = any($1::uuid[])`, [batch]);
        return Number(rows[0]!.n) === size;
      },
      600_000,
      500,
    );
    ids.push(...batch);
    if ((from + size) % 2_000 === 0 || from + size === count) say(`scale: ${tag}: ${from + size} of ${count} leads open and assigned`);
  }
  return ids;
}

function memory(pid: number | null) {
  const m = pid ? memoryOf(pid) : null;
  return m ?? { rssMiB: Number.NaN, peakMiB: Number.NaN };
}

function lateness(values: number[]): LatencySummary & { min: number } {
  const l = new Latencies();
  for (const value of values) l.record(Math.max(0, value));
  return { ...l.summary(), min: round(Math.min(...values)) };
}

export async function scaleBench(size: BenchSize): Promise<ScaleResult> {
  const { open, due } = size.timers;
  const background = open - due;
  const stack = await startStack('scale');
  let failed = true;
  try {
    const worker = await stack.startLeadWorker(LEAD_QUEUE);
    const bare = await stack.startBareWorker(BARE_QUEUE);
    const temporalPid = stack.temporalPids.temporal ?? null;
    await sleep(2_000);
    const idle = { worker: memory(worker.pid).rssMiB, temporal: memory(temporalPid).rssMiB };
    say(`scale: idle RSS: worker ${idle.worker} MiB, temporal server ${idle.temporal} MiB`);

    // Waiting on a two-day first-contact clock; nobody is told (the notices are not what this measures).
    const waiting = await createBenchTeams(stack.orm, { prefix: 'Waiting', teams: 8, reps: 10, rules: wallClockRules('2d', [{ after: '2d', action: 'remind_assignee' }]), notifyBy: [] });
    const head = Math.min(background, Math.max(BATCH, Math.round(background / 10)));
    let t0 = Date.now();
    const first = await createLeads(stack, waiting, 'a', head);
    const rate = head / ((Date.now() - t0) / 1000);
    // The deadline: after every other lead is in and the worker is quiet again.
    const dueSeconds = Math.ceil(((background - head + due) / rate) * 1.3 + 180);
    const sla = `${dueSeconds}s`;
    say(`scale: ${round(rate)} leads/s; the ${due} escalating leads get a ${sla} first-contact SLA with a remind_assignee step at the same time`);
    const escalating = await createBenchTeams(stack.orm, { prefix: 'Due', teams: 4, reps: 10, rules: wallClockRules(sla, [{ after: sla, action: 'remind_assignee' }]) });
    t0 = Date.now();
    const dueIds = await createLeads(stack, escalating, 'due', due);
    const rest = await createLeads(stack, waiting, 'b', background - head);
    const createdPerSecond = round(open / ((Date.now() - t0) / 1000 + head / rate));

    const running = (await stack.client.workflow.count(`WorkflowType = 'leadWorkflow' AND ExecutionStatus = 'Running'`)).count;
    await sleep(5_000);
    const openMemory = { worker: memory(worker.pid).rssMiB, temporal: memory(temporalPid).rssMiB };
    say(`scale: ${running} lead workflows open (${first.length + rest.length + dueIds.length} created); RSS: worker ${openMemory.worker} MiB, temporal server ${openMemory.temporal} MiB`);

    const { rows } = await stack.sql.query<{ lead_id: string; due_at: Date }>(`select lead_id, due_at from task where kind = 'first_contact' and lead_id = any($1::uuid[])`, [dueIds]);
    const dueAt = new Map(rows.map((row) => [row.lead_id, row.due_at.getTime()]));
    const times = [...dueAt.values()];
    const [firstDue, lastDue] = [Math.min(...times), Math.max(...times)];
    const firstDueInSeconds = round((firstDue - Date.now()) / 1000);
    say(`scale: ${due} deadlines between ${new Date(firstDue).toISOString()} and ${new Date(lastDue).toISOString()} (${round((lastDue - firstDue) / 1000)} s apart), the first in ${firstDueInSeconds} s`);
    if (firstDueInSeconds < 30) say('scale: WARNING the first deadlines come before the worker has settled; lateness includes creation load');
    // The escalation's planned time, as the workflow itself explains it, is the task's due time.
    for (const id of dueIds.slice(0, 5)) {
      const explained = await stack.client.workflow.getHandle(leadWorkflowId(id)).query(explainQuery);
      const step = explained.deadlines.find((d) => d.kind === 'escalation');
      if (!step?.at || Date.parse(step.at) !== dueAt.get(id)) throw new Error(`lead ${id}: explain says ${step?.at}, the task is due ${new Date(dueAt.get(id)!).toISOString()}`);
    }

    // The engine's own lateness: bare timers spaced like the deadlines, due after the escalations are done.
    const shift = lastDue - firstDue + 120_000;
    const bareDue = [...dueAt.values()].map((at) => at + shift);
    await inPool(bareDue.length, CONCURRENCY, (i) =>
      stack.client.workflow.start('bareTimerWorkflow', { taskQueue: BARE_QUEUE, workflowId: `timer-${i}`, args: [bareDue[i]!] }),
    );

    say(`scale: waiting for the ${due} escalations`);
    await sleep(Math.max(0, lastDue - Date.now()));
    const escalated = await until(
      `${due} escalations`,
      async () => {
        const { rows: found } = await stack.sql.query<{ lead_id: string; at: Date }>(
          `select lead_id, min(at) as at from lead_event where type = 'escalated' and lead_id = any($1::uuid[]) group by lead_id`,
          [dueIds],
        );
        return found.length === due ? found : null;
      },
      900_000,
      1_000,
    );
    const leadLateness = lateness(escalated.map((row) => row.at.getTime() - dueAt.get(row.lead_id)!));
    const lastEscalated = Math.max(...escalated.map((row) => row.at.getTime()));
    const arrivalPerSecond = round(due / Math.max(1, (lastDue - firstDue) / 1000));
    const escalatedPerSecond = round(due / Math.max(1, (lastEscalated - firstDue) / 1000));
    say(`scale: escalations recorded after their deadline: p50 ${leadLateness.p50} ms, p99 ${leadLateness.p99} ms, max ${leadLateness.max} ms (due at ${arrivalPerSecond}/s, recorded at ${escalatedPerSecond}/s)`);

    say(`scale: waiting for the ${due} bare timers`);
    await sleep(Math.max(0, Math.max(...bareDue) - Date.now()));
    const bareLate = await inPool(bareDue.length, CONCURRENCY, (i) => stack.client.workflow.getHandle(`timer-${i}`).result() as Promise<number>);
    const bareLateness = lateness(bareLate);
    say(`scale: bare timers' activity after their due time: p50 ${bareLateness.p50} ms, p99 ${bareLateness.p99} ms, max ${bareLateness.max} ms`);

    const w = memory(worker.pid);
    const t = memory(temporalPid);
    const afterTimers = { worker: w.rssMiB, temporal: t.rssMiB, workerPeak: w.peakMiB, temporalPeak: t.peakMiB };
    say(`scale: RSS after the timers: worker ${w.rssMiB} MiB (peak ${w.peakMiB}), temporal server ${t.rssMiB} MiB (peak ${t.peakMiB}); bare worker ${memory(bare.pid).rssMiB} MiB`);
    const met = leadLateness.p99 < TARGET_P99_MS;
    say(verdict(met, `scale: p99 escalation lateness ${leadLateness.p99} ms with ${running} open workflows (target < ${TARGET_P99_MS} ms)`));
    const leadCount = await stack.orm.em.fork().count(LeadSchema, {});
    failed = false;
    return {
      openWorkflows: running,
      createdPerSecond,
      memoryMiB: { idle, open: openMemory, afterTimers },
      due: { count: due, spreadSeconds: round((lastDue - firstDue) / 1000), firstDueInSeconds, sla, arrivalPerSecond, escalatedPerSecond },
      lateness: { escalations: leadLateness, bareTimers: bareLateness },
      met: met && leadCount >= open,
    };
  } finally {
    await stack.stop(failed);
  }
}
