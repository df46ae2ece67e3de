/**
 * Engine ceiling: how many bare workflows (one no-op activity) Temporal and a worker complete per
 * second, against how many leads the whole pipeline fully assigns per second (HTTP POST, the lead
 * workflow, assignment, first-contact task, the assignee's notice), same server, same settings. On
 * the dev server by default; with `--cluster` on the production shape, with one worker and then more.
 */
import type { BenchSize } from './config.js';
import { addWorkers, BARE_QUEUE, bareCloseTimes, leadTimings, startPipelineRig, waitNotified, type PipelineRig } from './pipeline.js';
import { cpuMeter, inPool, latencies, postgresCpuByDatabase, round, sampleLoad, say, verdict, type LatencySummary } from './report.js';
import { cpuMsPerLead, tiers } from './sizing.js';
import { startStack, type Stack } from './stack.js';
import { postLead, type BenchTeam } from './teams.js';

export interface BatchResult {
  count: number;
  seconds: number;
  perSecond: number;
  /** CPU seconds per process over the batch. */
  cpu: Record<string, number>;
  /** The Postgres share of `cpu` by database served (sampled; see postgresCpuByDatabase). */
  postgresByDatabase: Record<string, number>;
}

export interface EngineResult {
  bare: BatchResult[];
  pipeline: BatchResult & { errors: number; acceptSeconds: number; createdToNotified: LatencySummary };
  ratio: number;
  target: number;
  met: boolean;
}

export interface EngineClusterResult {
  backend: 'cluster';
  historyShards: number;
  /** One per worker count, in the order run. */
  phases: (EngineResult & { workers: number; load: { min: number; mean: number; max: number } })[];
}

type Pids = Record<string, number | null>;

/** CPU per process, and Postgres's by database, from now until `stop`. */
function meter(pids: Pids) {
  const cpu = cpuMeter(pids);
  const postgres = pids.postgres ? postgresCpuByDatabase(pids.postgres) : null;
  return { stop: () => ({ cpu: cpu.stop(), postgresByDatabase: postgres?.stop() ?? {} }) };
}

async function bareBatch(stack: Stack, tag: string, count: number, concurrency: number, pids: Pids): Promise<BatchResult> {
  const since = new Date();
  const used = meter(pids);
  const t0 = Date.now();
  await inPool(count, concurrency, (i) => stack.client.workflow.start('bareWorkflow', { taskQueue: BARE_QUEUE, workflowId: `bare-${tag}-${i}` }));
  const closed = await bareCloseTimes(stack.client, 'bareWorkflow', since, count, 600_000);
  const seconds = (Math.max(...closed.values()) - t0) / 1000;
  return { count, seconds: round(seconds, 2), perSecond: round(count / seconds), ...used.stop() };
}

async function leadBatch(stack: Stack, apiUrl: string, teams: BenchTeam[], tokens: string[], tag: string, count: number, concurrency: number, pids: Pids) {
  const used = meter(pids);
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
    ...used.stop(),
    errors,
    acceptSeconds: round(acceptSeconds, 2),
    createdToNotified: latencies(timings.map((t) => t.notifiedAt! - t.createdAt)),
  };
}

const cpuPer = (batch: BatchResult) =>
  Object.entries(batch.cpu)
    .map(([name, seconds]) => `${name} ${round((seconds * 1000) / batch.count, 2)}`)
    .join(', ');

/**
 * Warm-up, then bare workflows, the pipeline and bare again on the rig's workers. `label` starts each line it
 * prints; `tag` keeps workflow ids and lead names apart between runs on one stack.
 */
async function measureEngine(stack: Stack, rig: PipelineRig, size: BenchSize, label: string, tag = ''): Promise<EngineResult> {
  const { warmup, workflows, leads, concurrency } = size.engine;
  const { apiUrl, teams, tokens, pids } = rig;

  say(`${label}: warming up (${warmup} bare workflows, ${warmup} leads)`);
  await bareBatch(stack, `${tag}warm`, warmup, concurrency, pids);
  await leadBatch(stack, apiUrl, teams, tokens, `${tag}warm`, warmup, concurrency, pids);

  // Bare before and after the pipeline, so drift on a shared machine shows.
  say(`${label}: ${workflows} bare workflows, ${concurrency} starts in flight`);
  const bare1 = await bareBatch(stack, `${tag}a`, workflows, concurrency, pids);
  say(`${label}: bare ${bare1.perSecond}/s (CPU ms per workflow: ${cpuPer(bare1)})`);
  say(`${label}: ${leads} leads through POST /api/leads, ${concurrency} requests in flight`);
  const pipeline = await leadBatch(stack, apiUrl, teams, tokens, `${tag}run`, leads, concurrency, pids);
  say(`${label}: pipeline ${pipeline.perSecond} leads/s fully assigned (all accepted in ${pipeline.acceptSeconds} s; CPU ms per lead: ${cpuPer(pipeline)})`);
  const bare2 = await bareBatch(stack, `${tag}b`, workflows, concurrency, pids);
  say(`${label}: bare again ${bare2.perSecond}/s (CPU ms per workflow: ${cpuPer(bare2)})`);

  const ceiling = (bare1.perSecond + bare2.perSecond) / 2;
  const ratio = round(pipeline.perSecond / ceiling, 2);
  const result = { bare: [bare1, bare2], pipeline, ratio, target: 0.5, met: ratio >= 0.5 && pipeline.errors === 0 };
  say(verdict(result.met, `${label}: pipeline/bare = ${pipeline.perSecond}/${round(ceiling)} = ${ratio} (target >= 0.5)`));
  return result;
}

export async function engineBench(size: BenchSize): Promise<EngineResult> {
  const stack = await startStack('engine');
  let failed = true;
  try {
    const result = await measureEngine(stack, await startPipelineRig(stack, 'Engine'), size, 'engine');
    failed = false;
    return result;
  } finally {
    await stack.stop(failed);
  }
}

/**
 * The same batches on the cluster shape, with 1 lead worker (and 1 bare worker), then with more added to
 * the same task queues, all in one run: every phase has the same cluster, database and teams, and the
 * phases are minutes apart on a machine whose load drifts, which separate runs would not be.
 */
export async function engineClusterBench(size: BenchSize, workerCounts: number[]): Promise<EngineClusterResult> {
  const stack = await startStack('engine-cluster', 'cluster');
  let failed = true;
  try {
    let rig = await startPipelineRig(stack, 'Engine');
    const phases: EngineClusterResult['phases'] = [];
    for (const workers of workerCounts) {
      while (rig.workers < workers) rig = await addWorkers(stack, rig);
      const label = `engine, cluster, ${workers} worker${workers === 1 ? '' : 's'}`;
      const load = sampleLoad();
      const result = await measureEngine(stack, rig, size, label, `w${workers}-`);
      phases.push({ workers, ...result, load: load.stop() });
      const perLead = cpuMsPerLead(result.pipeline.cpu, result.pipeline.count);
      say(`${label}: leads/s per core of each tier: ${tiers.map((tier) => `${tier} ${round(1000 / perLead[tier])}`).join(', ')}`);
    }
    failed = false;
    return { backend: 'cluster', historyShards: stack.historyShards ?? 0, phases };
  } finally {
    await stack.stop(failed);
  }
}
