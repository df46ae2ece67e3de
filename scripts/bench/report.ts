import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import hdr from 'hdr-histogram-js';

/** Percentiles of a set of latencies, kept in microseconds so sub-millisecond routes still read right. */
export class Latencies {
  private readonly histogram = hdr.build({ numberOfSignificantValueDigits: 3 });
  count = 0;

  record(ms: number): void {
    this.histogram.recordValue(Math.max(0, Math.round(ms * 1000)));
    this.count += 1;
  }

  /** Milliseconds at the given percentile (0-100). */
  at(percentile: number): number {
    return this.count === 0 ? Number.NaN : this.histogram.getValueAtPercentile(percentile) / 1000;
  }

  get max(): number {
    return this.count === 0 ? Number.NaN : this.histogram.maxValue / 1000;
  }

  summary(): LatencySummary {
    return { count: this.count, p50: round(this.at(50)), p95: round(this.at(95)), p99: round(this.at(99)), max: round(this.max) };
  }
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

export function latencies(values: number[]): LatencySummary {
  const l = new Latencies();
  for (const value of values) l.record(value);
  return l.summary();
}

export const fmtMs = (value: number) => (Number.isFinite(value) ? `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms` : 'n/a');

export function verdict(met: boolean, what: string): string {
  return `${met ? 'MET   ' : 'MISSED'} ${what}`;
}

/** What machine a run happened on: cores, memory, and how busy it already was. */
export function machine() {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    uptime: uptime(),
  };
}

export function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`;
  }
}

/** Samples the 1-minute load average while a bench runs: others share this machine. */
export function sampleLoad(everyMs = 5_000) {
  const samples: number[] = [loadavg()[0]!];
  const timer = setInterval(() => samples.push(loadavg()[0]!), everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      samples.push(loadavg()[0]!);
      return { min: round(Math.min(...samples), 2), mean: round(samples.reduce((a, b) => a + b, 0) / samples.length, 2), max: round(Math.max(...samples), 2) };
    },
  };
}

/** Resident and peak memory of a process, from /proc. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) / 1024;
    return { rssMiB: round(field('VmRSS')), peakMiB: round(field('VmHWM')) };
  } catch {
    return null;
  }
}

export const say = (line: string) => console.log(`[bench] ${line}`);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` for 0..count-1 with at most `concurrency` at once. */
export async function inPool<T>(count: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}

/** Polls until `probe` is truthy; throws with `what` once `timeoutMs` has passed. */
export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

const CLOCK_TICKS = 100;

/** CPU seconds a process has used, with its children that have exited (Postgres backends come and go). */
function processCpu(pid: number): number {
  try {
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const [utime, stime, cutime, cstime] = [fields[11], fields[12], fields[13], fields[14]].map(Number) as [number, number, number, number];
    return (utime + stime + cutime + cstime) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds of a process and its live children (the Postgres postmaster and its backends). */
export function treeCpu(pid: number): number {
  return processCpu(pid) + childrenOf(pid).reduce((sum, child) => sum + processCpu(child), 0);
}

/** CPU used by each named process between `start` and `stop`, for "where did the time go". */
export function cpuMeter(pids: Record<string, number | null>) {
  const read = () => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, pid ? treeCpu(pid) : Number.NaN]));
  const self = process.cpuUsage();
  const before = read();
  return {
    stop(): Record<string, number> {
      const after = read();
      const used = Object.fromEntries(Object.keys(pids).map((name) => [name, round(after[name]! - before[name]!, 2)]));
      const driver = process.cpuUsage(self);
      return { ...used, bench: round((driver.user + driver.system) / 1e6, 2) };
    },
  };
}

/**
 * The database a Postgres backend serves, from its process title (`postgres: <user> <database> <host>(<port>) <state>`);
 * the checkpointer, WAL writer, autovacuum and the rest are `background`.
 */
function postgresDatabaseOf(pid: number): string {
  try {
    const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return /^postgres: \S+ (\S+) \S+\(\d+\)/.exec(title)?.[1] ?? 'background';
  } catch {
    return 'background';
  }
}

/**
 * CPU of a Postgres server's processes by the database each backend serves, sampled every second: on the cluster
 * Leadline's database and Temporal's share one server. A backend that exits between two samples takes its last
 * second with it, and the postmaster's own CPU is in none: `cpuMeter` on the postmaster has the exact total.
 */
export function postgresCpuByDatabase(postmasterPid: number, everyMs = 1_000) {
  const seen = new Map<number, { database: string; first: number; last: number }>();
  const sample = (atStart: boolean) => {
    for (const pid of childrenOf(postmasterPid)) {
      const cpu = processCpu(pid);
      // Read again each time: a backend forked a moment ago has not set its title yet.
      const database = postgresDatabaseOf(pid);
      const known = seen.get(pid);
      if (known) Object.assign(known, { database, last: cpu });
      else seen.set(pid, { database, first: atStart ? cpu : 0, last: cpu });
    }
  };
  sample(true);
  const timer = setInterval(() => sample(false), everyMs);
  timer.unref();
  return {
    stop(): Record<string, number> {
      clearInterval(timer);
      sample(false);
      const used: Record<string, number> = {};
      for (const { database, first, last } of seen.values()) used[database] = (used[database] ?? 0) + last - first;
      return Object.fromEntries(Object.entries(used).map(([database, seconds]) => [database, round(seconds, 2)]));
    },
  };
}
