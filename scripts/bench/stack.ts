import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import pg from 'pg';
import { databaseUrl, ensureDatabase } from '../../db/databases.js';
import { initORM, migrate, type MikroORM } from '../../db/orm.js';
import { DemoSeeder } from '../../db/seeders/DemoSeeder.js';
import { requestIdClientInterceptor } from '../../requestContext.js';
import { freePort, scratchDir } from '../../test/services.js';
import { workflowInterceptorModules, workflowPreloadModules, workflowsPath } from '../../worker.js';
import { freeClusterPorts, startTemporalCluster, type TemporalRole } from '../services/cluster.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../services/postgres.js';
import { startTemporalDevServer } from '../services/temporal.js';
import { startWorkerProcess } from '../services/worker.js';
import { say } from './report.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const JWT_SECRET = 'bench-secret-that-is-long-enough-for-hs256';

export interface ChildService {
  name: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

/** `dev`: `temporal server start-dev`, one process on SQLite. `cluster`: the production shape, the server's four roles as four processes on the stack's Postgres. */
export type TemporalBackend = 'dev' | 'cluster';

export interface Stack {
  backend: TemporalBackend;
  orm: MikroORM;
  /** Plain SQL for the benches' own measurements and EXPLAINs. */
  sql: pg.Pool;
  client: Client;
  /** The leadline database. */
  databaseUrl: string;
  temporalAddress: string;
  /** Temporal's processes by name, for their CPU and memory: `temporal` (the dev server), or one per cluster role. */
  temporalPids: Record<string, number | null>;
  /** The cluster's history shards, as it reports them; the dev server has none to speak of. */
  historyShards?: number;
  /** The Postgres postmaster, parent of every backend (on the cluster, Temporal's databases are on it too). */
  postgresPid: number | null;
  scratch: string;
  /** worker.ts as its own process, the way production runs it. */
  startLeadWorker(taskQueue: string): Promise<ChildService>;
  /** The bare workflow's worker, with the same worker settings, on its own task queue. */
  startBareWorker(taskQueue: string): Promise<ChildService>;
  /** The API (createApp, plus a bare Express route on the same HTTP server) as its own process. */
  startApi(taskQueue: string): Promise<ChildService & { url: string }>;
  /** Stops everything; after a failure (or with BENCH_KEEP_LOGS=1) the children's logs are kept and their folder printed. */
  stop(failed?: boolean): Promise<void>;
}

/** Twilio and SendGrid settings are blanked (empty means unset), so every child runs in sandbox mode and nothing leaves the machine. */
function childEnv(extra: Record<string, string>): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).map(([key, value]) => [key, /^(TWILIO_|SENDGRID_)/.test(key) ? '' : (value ?? '')]));
  return { ...env, NODE_OPTIONS: '', LOG_LEVEL: 'info', ...extra };
}

/**
 * BENCH_PROFILE=<folder>: each child writes V8 CPU profiles there when it exits (see profile.ts), one
 * folder per service, since a worker's workflow threads write profiles of their own.
 */
function profileFlags(name: string): string[] {
  return process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(process.env.BENCH_PROFILE, name.replace(/\W+/g, '-'))}`] : [];
}

/** Starts a TypeScript entry point (worker.ts goes through scripts/services/worker.ts) as a child process and waits for `ready` in its output; output goes to a log file. */
async function spawnService(name: string, script: string, env: NodeJS.ProcessEnv, ready: string, logFile: string): Promise<ChildService> {
  const child: ChildProcess = spawn(process.execPath, [...profileFlags(name), '--import', 'tsx', script], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within 120 s (see ${logFile})`));
    }, 120_000);
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-10_000);
      if (seen.includes(ready)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready: ${seen.slice(-2000)}`));
    });
  });
  const stop = () => {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // A worker with thousands of cached workflows may take a while to drain; it gets 20 s.
      const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  };
  return { name, pid: child.pid!, logFile, stop };
}

/** The dev server's pid, found by its command line (the service module does not hand it out). */
function findTemporalPid(port: number): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes('start-dev') && args[args.indexOf('--port') + 1] === String(port)) return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return null;
}

interface BenchTemporal {
  address: string;
  pids: Record<string, number | null>;
  historyShards?: number;
  stop(): Promise<void>;
}

async function startDevTemporal(name: string, scratch: string): Promise<BenchTemporal> {
  const port = await freePort();
  const log = createWriteStream(join(scratch, 'temporal.log'));
  say(`${name}: starting the Temporal dev server on ${port}`);
  const server = await startTemporalDevServer({ port, log: (line) => log.write(`${line}\n`) });
  return { address: server.address, pids: { temporal: findTemporalPid(port) }, stop: () => server.stop() };
}

/**
 * The cluster's four roles on the stack's Postgres, in databases beside Leadline's. Its ports are picked free
 * (as the chaos run picks them, membership ports below 32768) rather than offset from the defaults, so it cannot
 * collide with `npm start`, `npm run cluster` at any PORT_OFFSET, or a test run. No Web UI.
 */
async function startClusterTemporal(name: string, postgres: RunningPostgres, scratch: string): Promise<BenchTemporal> {
  const ports = { ...(await freeClusterPorts()), ui: undefined };
  say(`${name}: starting the Temporal cluster, frontend on ${ports.frontend.grpc} (logs in temporal/)`);
  const cluster = await startTemporalCluster({ postgresUrl: postgres.url('postgres'), ports, logDir: join(scratch, 'temporal'), say: (line) => say(`${name}: ${line}`) });
  const pid = (role: TemporalRole) => cluster.services[role].pid ?? null;
  return {
    address: cluster.address,
    pids: { temporalFrontend: pid('frontend'), temporalHistory: pid('history'), temporalMatching: pid('matching'), temporalWorker: pid('worker') },
    historyShards: cluster.historyShards,
    stop: () => cluster.stop(),
  };
}

const quietLogger = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: (m: string) => say(m), error: (m: string) => say(m) };

const running = new Set<Stack>();

/** For an interrupted run: whatever stacks are up go down. */
export async function stopAllStacks(): Promise<void> {
  await Promise.all([...running].map((stack) => stack.stop(true)));
}

/**
 * A stack of its own for one bench: embedded Postgres and Temporal (the dev server, or the cluster on
 * that Postgres) on free ports in a scratch folder, migrated and with the demo users, and both workflow
 * bundles built. `stop` takes all of it down, children first; call it in a `finally`.
 */
export async function startStack(name: string, backend: TemporalBackend = 'dev'): Promise<Stack> {
  const scratch = scratchDir(`leadline-bench-${name}-`);
  const stops: (() => Promise<unknown>)[] = [];
  const services: ChildService[] = [];
  let stack: Stack | undefined;
  const stop = async (failed = false) => {
    if (stack) running.delete(stack);
    // The processes first and all at once (a busy worker may take its 20 s), then the servers under them.
    await Promise.all(services.splice(0).map((service) => service.stop().catch((error: unknown) => say(`while stopping ${service.name}: ${String(error)}`))));
    for (const step of stops.splice(0)) {
      try {
        await step();
      } catch (error) {
        say(`while stopping: ${String(error)}`);
      }
    }
    if (failed || process.env.BENCH_KEEP_LOGS) {
      const kept = mkdtempSync(join(tmpdir(), `leadline-bench-${name}-logs-`));
      for (const file of readdirSync(scratch.path).filter((f) => f.endsWith('.log') || f === 'temporal')) cpSync(join(scratch.path, file), join(kept, file), { recursive: true });
      say(`${name}: logs kept in ${kept}`);
    }
    scratch.remove();
  };
  try {
    const pgPort = await freePort();
    say(`${name}: starting Postgres on ${pgPort} (scratch ${scratch.path})`);
    // Each is stopped whatever the other did; Temporal before the Postgres the cluster keeps its state in.
    const postgresUp = startEmbeddedPostgres({ dataDir: join(scratch.path, 'pg'), port: pgPort, persistent: false }).then((postgres) => {
      stops.push(() => postgres.stop());
      return postgres;
    });
    const temporalUp = (backend === 'cluster' ? postgresUp.then((postgres) => startClusterTemporal(name, postgres, scratch.path)) : startDevTemporal(name, scratch.path)).then((temporal) => {
      stops.unshift(() => temporal.stop());
      return temporal;
    });
    const [postgresStarted, temporalStarted] = await Promise.allSettled([postgresUp, temporalUp]);
    if (postgresStarted.status === 'rejected') throw postgresStarted.reason;
    if (temporalStarted.status === 'rejected') throw temporalStarted.reason;
    const [postgres, temporal] = [postgresStarted.value, temporalStarted.value];
    const serverUrl = postgres.url('postgres');
    await ensureDatabase(serverUrl, 'leadline');
    const url = databaseUrl(serverUrl, 'leadline');
    const orm = await initORM(url);
    stops.unshift(() => orm.close());
    await migrate(orm);
    await orm.seeder.seed(DemoSeeder);
    const sql = new pg.Pool({ connectionString: url, max: 4 });
    sql.on('error', (error) => say(`bench SQL connection: ${error.message}`));
    stops.unshift(() => sql.end());

    const connection = await Connection.connect({ address: temporal.address });
    stops.unshift(() => connection.close());
    const client = new Client({ connection, namespace: 'default', interceptors: { workflow: [requestIdClientInterceptor] } });

    const leadBundle = join(scratch.path, 'lead-workflows.js');
    const bareBundle = join(scratch.path, 'bare-workflows.js');
    const [lead, bare] = await Promise.all([
      // BENCH_WITHOUT_PRELOAD=1 bundles as before preloading, for the before/after figures.
      bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, preloadModules: process.env.BENCH_WITHOUT_PRELOAD ? [] : workflowPreloadModules, logger: quietLogger }),
      bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./bareWorkflow.ts', import.meta.url)), logger: quietLogger }),
    ]);
    writeFileSync(leadBundle, lead.code);
    writeFileSync(bareBundle, bare.code);

    const base = { DATABASE_URL: url, TEMPORAL_ADDRESS: temporal.address, JWT_SECRET };
    const children = (service: ChildService) => {
      services.push(service);
      return service;
    };
    // Several workers of a kind write logs of their own.
    let started = 0;
    const logFile = (kind: string, taskQueue: string) => join(scratch.path, `${kind}-${taskQueue}-${++started}.log`);
    stack = {
      backend,
      orm,
      sql,
      client,
      databaseUrl: url,
      temporalAddress: temporal.address,
      temporalPids: temporal.pids,
      historyShards: temporal.historyShards,
      postgresPid: Number(readFileSync(join(scratch.path, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]) || null,
      scratch: scratch.path,
      async startLeadWorker(taskQueue) {
        const log = logFile('worker', taskQueue);
        const env = childEnv({ ...base, TEMPORAL_TASK_QUEUE: taskQueue, WORKFLOW_BUNDLE: leadBundle, NODE_OPTIONS: profileFlags('lead-worker').join(' ') });
        const worker = await startWorkerProcess({ env, logFile: log, startTimeoutMs: 120_000 });
        return children({ name: 'lead worker', pid: worker.pid, logFile: log, stop: () => worker.stop() });
      },
      async startBareWorker(taskQueue) {
        const env = childEnv({ ...base, TEMPORAL_TASK_QUEUE: taskQueue, WORKFLOW_BUNDLE: bareBundle });
        return children(await spawnService('bare worker', 'scripts/bench/bareWorker.ts', env, 'bare worker ready', logFile('bare', taskQueue)));
      },
      async startApi(taskQueue) {
        const port = await freePort();
        const env = childEnv({ ...base, NODE_ENV: 'production', PORT: String(port), TEMPORAL_TASK_QUEUE: taskQueue });
        const service = children(await spawnService('api', 'scripts/bench/apiServer.ts', env, 'bench api ready', join(scratch.path, 'api.log')));
        return { ...service, url: `http://127.0.0.1:${port}` };
      },
      stop,
    };
    running.add(stack);
    return stack;
  } catch (error) {
    await stop(true);
    throw error;
  }
}
