/**
 * Speed to lead under open-loop arrival: leads are POSTed on a fixed schedule (25/s and 50/s, the
 * issue's rates, after 5/s for context) whether or not earlier ones are done, and each is timed from
 * Lead.createdAt to its first-contact task and its assignee's notice marked sent. Beside it, bare
 * workflows started on the same schedule, timed from the start call to completion.
 */
import type { BenchSize } from './config.js';
import { BARE_QUEUE, bareCloseTimes, leadTimings, startPipelineRig, waitNotified } from './pipeline.js';
import { cpuMeter, fmtMs, Latencies, latencies, round, say, sleep, verdict, type LatencySummary } from './report.js';
import { startStack, type Stack } from './stack.js';
import { postLead, type BenchTeam } from './teams.js';

const TARGET_RATE = 50;
const TARGET_P95_MS = 500;

export interface SpeedRun {
  rate: number;
  /** What the schedule achieved: arrivals per second, and how far behind it the sender ever fell. */
  offered: { perSecond: number; maxLagMs: number };
  bare: LatencySummary;
  lead: {
    createdToNotified: LatencySummary;
    createdToAssigned: LatencySummary;
    createdToTask: LatencySummary;
    httpPost: LatencySummary;
    errors: number;
  };
  cpu: Record<string, number>;
}

export interface SpeedResult {
  runs: SpeedRun[];
  target: string;
  met: boolean;
}

/** Fires `fire(i)` at `rate` per second for `seconds`, on schedule however long each takes. */
async function openLoop<T>(rate: number, seconds: number, fire: (i: number) => Promise<T>) {
  const count = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const start = performance.now() + 20;
  const sentAt: number[] = [];
  const results: Promise<T | Error>[] = [];
  let maxLagMs = 0;
  for (let i = 0; i < count; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    maxLagMs = Math.max(maxLagMs, performance.now() - due);
    sentAt[i] = Date.now();
    results.push(fire(i).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))));
  }
  const span = (sentAt[count - 1]! - sentAt[0]!) / 1000;
  return { sentAt, settled: await Promise.all(results), offered: { perSecond: round((count - 1) / span), maxLagMs: round(maxLagMs) } };
}

async function bareRun(stack: Stack, tag: string, rate: number, seconds: number) {
  const since = new Date();
  const { sentAt, settled } = await openLoop(rate, seconds, (i) => stack.client.workflow.start('bareWorkflow', { taskQueue: BARE_QUEUE, workflowId: `speed-${tag}-${i}` }));
  const errors = settled.filter((s) => s instanceof Error);
  if (errors.length) throw new Error(`${errors.length} bare starts failed: ${String(errors[0])}`);
  const closed = await bareCloseTimes(stack.client, 'bareWorkflow', since, sentAt.length, 900_000);
  return latencies(sentAt.map((sent, i) => closed.get(`speed-${tag}-${i}`)! - sent));
}

async function leadRun(stack: Stack, apiUrl: string, teams: BenchTeam[], tokens: string[], tag: string, rate: number, seconds: number) {
  const http = new Latencies();
  const { settled, offered } = await openLoop(rate, seconds, async (i) => {
    const t0 = performance.now();
    const id = await postLead(apiUrl, tokens[i % teams.length]!, teams[i % teams.length]!.id, `${tag}-${i}`);
    http.record(performance.now() - t0);
    return id;
  });
  const ids = settled.filter((s): s is string => typeof s === 'string');
  const errors = settled.length - ids.length;
  if (errors) say(`speed: ${errors} of ${settled.length} POSTs failed, first: ${String(settled.find((s) => s instanceof Error))}`);
  await waitNotified(stack.sql, ids, 600_000);
  const timings = await leadTimings(stack.sql, ids);
  return {
    offered,
    lead: {
      createdToNotified: latencies(timings.map((t) => Math.max(t.taskAt!, t.notifiedAt!) - t.createdAt)),
      createdToAssigned: latencies(timings.map((t) => t.assignedAt! - t.createdAt)),
      createdToTask: latencies(timings.map((t) => t.taskAt! - t.createdAt)),
      httpPost: http.summary(),
      errors,
    },
  };
}

const line = (s: LatencySummary) => `p50 ${fmtMs(s.p50)}, p95 ${fmtMs(s.p95)}, p99 ${fmtMs(s.p99)} (n=${s.count})`;

export async function speedBench(size: BenchSize): Promise<SpeedResult> {
  const { rates, seconds, warmupSeconds } = size.speed;
  const stack = await startStack('speed');
  let failed = true;
  try {
    const { apiUrl, teams, tokens, pids } = await startPipelineRig(stack, 'Speed');

    say(`speed: warming up at 10/s for ${warmupSeconds} s`);
    await bareRun(stack, 'warm', 10, warmupSeconds);
    await leadRun(stack, apiUrl, teams, tokens, 'warm', 10, warmupSeconds);

    const runs: SpeedRun[] = [];
    for (const rate of rates) {
      await sleep(3_000);
      say(`speed: ${rate}/s for ${seconds} s, bare workflows then leads`);
      const bare = await bareRun(stack, `bare${rate}`, rate, seconds);
      say(`speed: bare at ${rate}/s: start to completed ${line(bare)}`);
      await sleep(3_000);
      const cpu = cpuMeter(pids);
      const { offered, lead } = await leadRun(stack, apiUrl, teams, tokens, `lead${rate}`, rate, seconds);
      runs.push({ rate, offered, bare, lead, cpu: cpu.stop() });
      say(`speed: leads at ${rate}/s (offered ${offered.perSecond}/s, sender lag max ${offered.maxLagMs} ms): created to task and notified ${line(lead.createdToNotified)}`);
      say(`speed:   created to assigned ${line(lead.createdToAssigned)}; to task ${line(lead.createdToTask)}; POST ${line(lead.httpPost)}`);
    }
    const atTarget = runs.find((run) => run.rate === TARGET_RATE);
    const met = Boolean(atTarget && atTarget.lead.errors === 0 && atTarget.lead.createdToNotified.p95 < TARGET_P95_MS);
    say(verdict(met, `speed: p95 at ${TARGET_RATE} leads/s = ${atTarget ? fmtMs(atTarget.lead.createdToNotified.p95) : 'not run'} (target < ${TARGET_P95_MS} ms)`));
    failed = false;
    return { runs, target: `p95 < ${TARGET_P95_MS} ms at ${TARGET_RATE} leads/s`, met };
  } finally {
    await stack.stop(failed);
  }
}
