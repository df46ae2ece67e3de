/**
 * Engine ceiling: how many bare workflows (one no-op activity) the dev server and a worker complete
 * per second, against how many leads the whole pipeline fully assigns per second (HTTP POST, the
 * lead workflow, assignment, first-contact task, the assignee's notice), same server, same settings.
 */
import type { BenchSize } from './config.js';
import { BARE_QUEUE, bareCloseTimes, leadTimings, startPipelineRig, waitNotified } from './pipeline.js';
import { cpuMeter, inPool, latencies, round, say, verdict, type LatencySummary } from './report.js';
import { startStack, type Stack } from './stack.js';
import { postLead, type BenchTeam } from './teams.js';


export interface BatchResult {
  count: number;
  seconds: number;
  perSecond: number;
  /** CPU seconds per process over the batch. */
  cpu: Record<string, number>;
}

export interface EngineResult {
  bare: BatchResult[];
  pipeline: BatchResult & { errors: number; acceptSeconds: number; createdToNotified: LatencySummary };
  ratio: number;
  target: number;
  met: boolean;
}

type Pids = Record<string, number | null>;

async function bareBatch(stack: Stack, tag: string, count: number, concurrency: number, pids: Pids): Promise<BatchResult> {
  const since = new Date();
  const cpu = cpuMeter(pids);
  const t0 = Date.now();
  await inPool(count, concurrency, (i) => stack.client.workflow.start('bareWorkflow', { taskQueue: BARE_QUEUE, workflowId: `bare-${tag}-${i}` }));
  const closed = await bareCloseTimes(stack.client, 'bareWorkflow', since, count, 600_000);
  const seconds = (Math.max(...closed.values()) - t0) / 1000;
  return { count, seconds: round(seconds, 2), perSecond: round(count / seconds), cpu: cpu.stop() };
}

async function leadBatch(stack: Stack, apiUrl: string, teams: BenchTeam[], tokens: string[], tag: string, count: number, concurrency: number, pids: Pids) {
  const cpu = cpuMeter(pids);
  const t0 = Date.now();
  let errors = 0;
  let firstError = '';
  const posted = await inPool(count, concurrency, (i) =>
    postLead(apiUrl, tokens[i % teams.length]!, teams[i % teams.length]!.id, `${tag}-${i}`).catch((error: unknown) => {
      errors += 1;
      firstError ||= String(error);
      return null;
    }),
  );
  const ids = posted.filter((id): id is string => id !== null);
  if (errors) say(`engine: ${errors} of ${count} POSTs failed, the first: ${firstError}`);
  const acceptSeconds = (Date.now() - t0) / 1000;
  await waitNotified(stack.sql, ids, 900_000);
  const timings = await leadTimings(stack.sql, ids);
  const seconds = (Math.max(...timings.map((t) => t.notifiedAt!)) - t0) / 1000;
  return {
    count: ids.length,
    seconds: round(seconds, 2),
    perSecond: round(ids.length / seconds),
    cpu: cpu.stop(),
    errors,
    acceptSeconds: round(acceptSeconds, 2),
    createdToNotified: latencies(timings.map((t) => t.notifiedAt! - t.createdAt)),
  };
}

const cpuPer = (batch: BatchResult) =>
  Object.entries(batch.cpu)
    .map(([name, seconds]) => `${name} ${round((seconds * 1000) / batch.count, 2)}`)
    .join(', ');

export async function engineBench(size: BenchSize): Promise<EngineResult> {
  const { warmup, workflows, leads, concurrency } = size.engine;
  const stack = await startStack('engine');
  let failed = true;
  try {
    const { apiUrl, teams, tokens, pids } = await startPipelineRig(stack, 'Engine');

    say(`engine: warming up (${warmup} bare workflows, ${warmup} leads)`);
    await bareBatch(stack, 'warm', warmup, concurrency, pids);
    await leadBatch(stack, apiUrl, teams, tokens, 'warm', warmup, concurrency, pids);

    // Bare before and after the pipeline, so drift on a shared machine shows.
    say(`engine: ${workflows} bare workflows, ${concurrency} starts in flight`);
    const bare1 = await bareBatch(stack, 'a', workflows, concurrency, pids);
    say(`engine: bare ${bare1.perSecond}/s (CPU ms per workflow: ${cpuPer(bare1)})`);
    say(`engine: ${leads} leads through POST /api/leads, ${concurrency} requests in flight`);
    const pipeline = await leadBatch(stack, apiUrl, teams, tokens, 'run', leads, concurrency, pids);
    say(`engine: pipeline ${pipeline.perSecond} leads/s fully assigned (all accepted in ${pipeline.acceptSeconds} s; CPU ms per lead: ${cpuPer(pipeline)})`);
    const bare2 = await bareBatch(stack, 'b', workflows, concurrency, pids);
    say(`engine: bare again ${bare2.perSecond}/s (CPU ms per workflow: ${cpuPer(bare2)})`);

    const ceiling = (bare1.perSecond + bare2.perSecond) / 2;
    const ratio = round(pipeline.perSecond / ceiling, 2);
    const result = { bare: [bare1, bare2], pipeline, ratio, target: 0.5, met: ratio >= 0.5 && pipeline.errors === 0 };
    say(verdict(result.met, `engine: pipeline/bare = ${pipeline.perSecond}/${round(ceiling)} = ${ratio} (target >= 0.5)`));
    failed = false;
    return result;
  } finally {
    await stack.stop(failed);
  }
}
