/**
 * `npm run chaos`: at least 1,000 leads on a short-duration policy while workers are SIGKILLed and
 * Postgres and the Temporal dev server are restarted at seeded random moments; then every lead is
 * checked against its history and the provider calls. Exits non-zero on FAIL.
 *
 *   npm run chaos -- --seed 1234 --leads 2000     (also CHAOS_SEED, CHAOS_LEADS)
 *   npm run chaos -- --cluster [--shards 4]       Temporal as the cluster of `npm run cluster`, whose
 *                                                 frontend, history and matching are SIGKILLed in turn
 */
import { parseArgs } from 'node:util';

// The API runs in this process; its request and error logs would drown the report (the driver counts errors itself).
process.env.LOG_LEVEL ??= 'silent';
const { formatReport, fullRun, runChaos } = await import('./run.js');
const { randomSeed } = await import('./rng.js');

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    leads: { type: 'string' },
    workers: { type: 'string' },
    rate: { type: 'string' },
    step: { type: 'string' },
    json: { type: 'string' },
    cluster: { type: 'boolean' },
    shards: { type: 'string' },
  },
});
const number = (flag: string | undefined, env: string | undefined, fallback: number) => {
  const raw = flag ?? env;
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`not a positive number: ${raw}`);
  return value;
};

const seed = number(values.seed, process.env.CHAOS_SEED, randomSeed());
const historyShards = values.shards === undefined ? undefined : number(values.shards, undefined, 4);
if (historyShards !== undefined && !Number.isInteger(historyShards)) throw new Error(`--shards takes a whole number, not ${values.shards}`);
const report = await runChaos({
  ...fullRun,
  seed,
  leads: number(values.leads, process.env.CHAOS_LEADS, fullRun.leads),
  workers: number(values.workers, process.env.CHAOS_WORKERS, fullRun.workers),
  leadsPerSecond: number(values.rate, process.env.CHAOS_RATE, fullRun.leadsPerSecond),
  stepSeconds: number(values.step, process.env.CHAOS_STEP, fullRun.stepSeconds),
  temporal: values.cluster ? 'cluster' : 'dev',
  historyShards,
  stopOnExit: true,
});
console.log(formatReport(report));
if (values.json) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(values.json, JSON.stringify(report, null, 2));
}
process.exit(report.verdict === 'PASS' ? 0 : 1);
