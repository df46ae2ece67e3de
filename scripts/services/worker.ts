import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerProcessOptions {
  /** Added to this process's environment: DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_TASK_QUEUE, WORKFLOW_BUNDLE, providers… */
  env: Record<string, string>;
  /** How long it may take to say "worker started" (bundling the workflows without WORKFLOW_BUNDLE takes a while). */
  startTimeoutMs?: number;
  /** Appends everything it writes to this file too. */
  logFile?: string;
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves when the process has exited, however it ended. */
  exited: Promise<void>;
  /** The last lines it wrote, for a failure message. */
  output(): string;
  /** SIGKILL, no warning: a crash. Resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, the worker's graceful shutdown (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

const KEEP_OUTPUT = 20_000;

/**
 * `worker.ts` as its own process, the way production runs it, resolved once it logs "worker started".
 * Its output is read continuously (a full pipe would stall it) and only the tail is kept.
 */
export async function startWorkerProcess(options: WorkerProcessOptions): Promise<WorkerProcess> {
  const child = spawn(join(root, 'node_modules/.bin/node'), ['--import', 'tsx', 'worker.ts'], {
    cwd: root,
    // The caller's NODE_OPTIONS (Jest's VM modules flag) are not the worker's; "worker started" is an info line.
    env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let started = false;
  const onOutput = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-KEEP_OUTPUT);
    started ||= output.includes('worker started');
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  if (options.logFile) {
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker did not start within ${options.startTimeoutMs ?? 60_000} ms: ${output}`));
    }, options.startTimeoutMs ?? 60_000);
    const check = () => {
      if (!started) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve();
    };
    child.stdout!.on('data', check);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code ?? signal} before it started: ${output}`));
    });
  });

  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    pid: child.pid!,
    exited,
    output: () => output,
    async kill() {
      if (!gone()) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (gone()) return;
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(force);
    },
  };
}
