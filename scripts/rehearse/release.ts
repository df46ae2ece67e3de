import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { logTail, ServiceProcess } from '../services/process.js';

const run = promisify(execFile);

/** One version of Leadline as a deploy runs it: its own migrate script, worker.ts processes and API process. */
export interface ReleaseOptions {
  /** How the report names it: the ref, or "working tree". */
  label: string;
  /** The checkout its code is run from. */
  dir: string;
  /** DATABASE_URL, TEMPORAL_ADDRESS, the task queue, providers…: what a deployment gives both processes. */
  env: NodeJS.ProcessEnv;
  workers: number;
  apiPort: number;
  logDir: string;
}

export interface Release {
  label: string;
  /** Worker pids as started: `<pid>@host` is the identity Temporal records on each workflow task a worker took. */
  workerPids: number[];
  /** The API first, so nothing new reaches the workers while they drain; then the workers, gracefully (SIGTERM). */
  stop(): Promise<void>;
}

/** Whoever runs the rehearsal may have their own Temporal, database or providers configured; none of it is the rehearsal's. */
export function cleanEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const outside = /^(TEMPORAL_|TWILIO_|SENDGRID_|DATABASE_URL$|WORKFLOW_BUNDLE$|LEADLINE_BUILD_ID$|PUBLIC_URL$|JWT_SECRET$|PORT$|NODE_ENV$|CORS_ORIGINS$|METRICS_TOKEN$)/;
  return Object.fromEntries(Object.entries(env).filter(([key]) => !outside.test(key)));
}

const node = (dir: string) => join(dir, 'node_modules/.bin/node');

/** The checkout's `npm run migrate` (with the demo data when asked); returns what it said it applied. */
export async function migrateWith(dir: string, env: NodeJS.ProcessEnv, seed: boolean): Promise<string> {
  const { stdout } = await run(node(dir), ['--import', 'tsx', 'scripts/migrate.ts', ...(seed ? ['--seed'] : [])], { cwd: dir, env: { ...env, NODE_OPTIONS: '' } });
  return stdout.trim().split('\n').join('; ');
}

/** Starts the workers (each bundles its own workflows unless `env` has WORKFLOW_BUNDLE), then the API. */
export async function startRelease(options: ReleaseOptions): Promise<Release> {
  const { label, dir, env, apiPort, logDir } = options;
  const slug = label.replace(/[^A-Za-z0-9._-]+/g, '-');
  const processEnv = { ...env, NODE_OPTIONS: '', LOG_LEVEL: 'info' };
  const workers = Array.from({ length: options.workers }, (_, i) => {
    const logFile = join(logDir, `worker-${slug}-${i + 1}.log`);
    return new ServiceProcess({
      name: `${label} worker ${i + 1}`,
      command: node(dir),
      args: ['--import', 'tsx', 'worker.ts'],
      cwd: dir,
      env: processEnv,
      logFile,
      ready: async () => logTail(logFile).includes('worker started'),
      readyTimeoutMs: 300_000,
      // Graceful: running activities finish and workflow tasks are handed back.
      stopGraceMs: 30_000,
    });
  });
  const api = new ServiceProcess({
    name: `${label} API`,
    command: node(dir),
    args: ['--import', 'tsx', 'api/server.ts'],
    cwd: dir,
    env: { ...processEnv, PORT: String(apiPort) },
    logFile: join(logDir, `api-${slug}.log`),
    ready: async () => (await fetch(`http://127.0.0.1:${apiPort}/healthz`, { signal: AbortSignal.timeout(2_000) })).ok,
    readyTimeoutMs: 120_000,
  });
  const stop = async () => {
    if (api.running) await api.stop();
    await Promise.all(workers.map((worker) => worker.stop()));
  };
  try {
    await Promise.all(workers.map((worker) => worker.start()));
    await api.start();
  } catch (error) {
    await stop();
    throw error;
  }
  return { label, workerPids: workers.map((worker) => worker.pid!), stop };
}
