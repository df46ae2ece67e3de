import type { Rng } from './rng.js';
import type { ChaosSystem } from './system.js';

export const faultKinds = ['worker_kill', 'postgres_restart', 'temporal_restart'] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface Fault {
  kind: FaultKind;
  /** Milliseconds after the run started. */
  at: number;
  /** How long until the replacement was up (worker started, server answering). */
  tookMs: number;
  detail: string;
}

export interface FaultPlan {
  /** `random`: one after another at random gaps until stopped; `once_each`: each kind once, in a seeded order. */
  mode: 'random' | 'once_each';
  minGapMs: number;
  maxGapMs: number;
}

const sleep = (ms: number, cancelled: () => boolean) =>
  new Promise<void>((resolve) => {
    const started = Date.now();
    const tick = () => (cancelled() || Date.now() - started >= ms ? resolve() : setTimeout(tick, Math.min(250, ms)));
    tick();
  });

async function inject(system: ChaosSystem, kind: FaultKind, rng: Rng): Promise<string> {
  switch (kind) {
    case 'worker_kill': {
      const pids = system.workerPids();
      const { killed, started } = await system.killWorker(rng.int(0, pids.length - 1));
      return `SIGKILL worker ${killed}, started ${started}`;
    }
    case 'postgres_restart':
      await system.restartPostgres();
      return 'stopped and started on the same data folder and port';
    case 'temporal_restart':
      await system.restartTemporal();
      return 'stopped and started on the same SQLite file and port';
  }
}

/**
 * Injects faults at seeded random moments, one at a time, until `stop()` (which lets the fault in
 * progress finish). Kinds come from a shuffled bag, so every kind recurs and none runs twice in a row
 * more often than chance between bags.
 */
export function startFaults(system: ChaosSystem, rng: Rng, plan: FaultPlan, runStart: number, say: (line: string) => void) {
  const faults: Fault[] = [];
  let stopped = false;
  let bag: FaultKind[] = [];
  const nextKind = () => {
    if (bag.length === 0) bag = rng.shuffle(faultKinds);
    return bag.shift()!;
  };

  const done = (async () => {
    const queue = plan.mode === 'once_each' ? rng.shuffle(faultKinds) : null;
    while (!stopped) {
      await sleep(rng.int(plan.minGapMs, plan.maxGapMs), () => stopped);
      if (stopped) break;
      const kind = queue ? queue.shift() : nextKind();
      if (!kind) break;
      const at = Date.now() - runStart;
      say(`fault ${faults.length + 1}: ${kind} at ${(at / 1000).toFixed(1)} s`);
      const detail = await inject(system, kind, rng);
      faults.push({ kind, at, tookMs: Date.now() - runStart - at, detail });
      say(`  ${detail}; back after ${((Date.now() - runStart - at) / 1000).toFixed(1)} s`);
    }
  })();
  // Awaited by `stop()` or `finished`; until then a failed restart must not count as unhandled.
  done.catch(() => undefined);

  return {
    faults,
    /** Resolves once no fault is in progress; `once_each` may also end on its own. */
    async stop() {
      stopped = true;
      await done;
    },
    finished: done,
  };
}

export function countByKind(faults: Fault[]): Record<FaultKind, number> {
  return Object.fromEntries(faultKinds.map((kind) => [kind, faults.filter((f) => f.kind === kind).length])) as Record<FaultKind, number>;
}
