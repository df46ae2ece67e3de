import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export interface ServiceProcessOptions {
  /** What messages call it: `history`, `api`… */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Everything it writes is appended here. */
  logFile: string;
  /** True once it can be used; polled from start until then. */
  ready(): Promise<boolean>;
  readyTimeoutMs?: number;
  /** How long SIGTERM may take before SIGKILL. */
  stopGraceMs?: number;
}

const TAIL_BYTES = 4_000;

/** The last bytes of a log file, for a failure message. */
export function logTail(file: string, bytes = TAIL_BYTES): string {
  try {
    const size = statSync(file).size;
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    return buffer.toString('utf8');
  } catch {
    return '(no log)';
  }
}

/**
 * A long-running child in a process group of its own, so stopping it reaches everything it started and a
 * Ctrl-C at the terminal reaches only our process, which stops the children in order. It writes straight to
 * its log file: nothing depends on us draining a pipe, and it keeps running if we are busy.
 */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  private exitedAs: Promise<string> = Promise.resolve('never started');

  constructor(readonly options: ServiceProcessOptions) {}

  get name(): string {
    return this.options.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once the process started last has exited, with its exit code or signal: a supervisor's cue. */
  get exited(): Promise<string> {
    return this.exitedAs;
  }

  /** Starts it and resolves once `ready()` says so; rejects with its log's tail if it exits or times out first. */
  async start(): Promise<void> {
    const { name, command, args, cwd, env, logFile, ready, readyTimeoutMs = 60_000 } = this.options;
    if (this.running) throw new Error(`${name} is already running (pid ${this.pid})`);
    const log = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    this.child = child;
    let exitCode: string | null = null;
    this.exitedAs = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitCode = String(code ?? signal);
        resolve(exitCode);
      });
      child.once('error', (error) => {
        exitCode = error.message;
        resolve(exitCode);
      });
    });
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (exitCode !== null) throw new Error(`${name} exited (${exitCode}) before it was ready; the end of ${logFile}:\n${logTail(logFile)}`);
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`${name} was not ready within ${readyTimeoutMs / 1000} s; the end of ${logFile}:\n${logTail(logFile)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** SIGTERM to its group, SIGKILL after the grace period; resolves once it has exited. */
  async stop(): Promise<void> {
    if (!this.child) return;
    if (!this.running) return this.sweep();
    this.signal('SIGTERM');
    const force = setTimeout(() => this.signal('SIGKILL'), this.options.stopGraceMs ?? 15_000);
    await this.exitedAs;
    clearTimeout(force);
    this.sweep();
  }

  /** SIGKILL to its group, no warning: a crash. Resolves once it has exited. */
  async kill(): Promise<void> {
    if (!this.child) return;
    if (this.running) this.signal('SIGKILL');
    await this.exitedAs;
    this.sweep();
  }

  /** Starts it again after a stop or a kill, with the same command and environment. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.child!.pid!, signal);
    } catch {
      // Already gone.
    }
  }

  /** Whatever it left running in its group (a helper it started) goes with it; then the group is forgotten. */
  private sweep(): void {
    if (this.child?.pid) this.signal('SIGKILL');
    this.child = null;
  }
}
