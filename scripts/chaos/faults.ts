import type { Rng } from './rng.js';
import type { ChaosSystem, CrashedRole, TemporalBackend } from './system.js';

export const faultKinds = ['worker_kill', 'postgres_restart', 'temporal_restart', 'frontend_kill', 'history_kill', 'matching_kill'] as const;
export type FaultKind = (typeof faultKinds)[number];

/**
 * What each Temporal backend goes through. The dev server is one process, so it is restarted whole. The
 * cluster is not restarted whole: its roles are SIGKILLed one at a time instead, which is harsher than a
 * graceful restart (no shard handoff, the ring finds out by itself), gives each role several crashes per
 * run instead of sharing the run's faults with a restart of all four, and the Postgres restarts still take
 * every role's store away at once. The dev list keeps its order, so a recorded dev seed replays its faults.
 */
export const faultKindsOf: Record<TemporalBackend, readonly FaultKind[]> = {
  dev: ['worker_kill', 'postgres_restart', 'temporal_restart'],
  cluster: ['worker_kill', 'postgres_restart', 'frontend_kill', 'history_kill', 'matching_kill'],
};

const crashedRole: Partial<Record<FaultKind, CrashedRole>> = { frontend_kill: 'frontend', history_kill: 'history', matching_kill: 'matching' };

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

async function inject(system: ChaosSystem, kind: FaultKind, worker: () => number): Promise<string> {
  switch (kind) {
    case 'worker_kill': {
      const { killed, started } = await system.killWorker(worker());
      return `SIGKILL worker ${killed}, started ${started}`;
    }
    case 'postgres_restart':
      await system.restartPostgres();
      return 'stopped and started on the same data folder and port';
    case 'temporal_restart':
      await system.restartTemporal();
      return 'stopped and started on the same SQLite file and port';
    case 'frontend_kill':
    case 'history_kill':
    case 'matching_kill': {
      const { killed, started } = await system.crashTemporalRole(crashedRole[kind]!);
      return `SIGKILL ${crashedRole[kind]} ${killed}, started ${started} on the same ports`;
    }
  }
}

/**
 * Injects faults at seeded random moments, one at a time, until `stop()` (which lets the fault in
 * progress finish). Kinds come from a shuffled bag, so every kind recurs and none runs twice in a row
 * more often than chance between bags.
 */
export function startFaults(system: ChaosSystem, rng: Rng, plan: FaultPlan, runStart: number, say: (line: string) => void) {
  const kinds = faultKindsOf[system.temporalServer.backend];
  const faults: Fault[] = [];
  let stopped = false;
  let bag: FaultKind[] = [];
  const nextKind = () => {
    if (bag.length === 0) bag = rng.shuffle(kinds);
    return bag.shift()!;
  };
  // On the cluster the workers are killed in turn, so each one is; the dev run keeps its seeded pick.
  let workerKills = 0;
  const worker = () => (system.temporalServer.backend === 'cluster' ? workerKills++ : rng.int(0, system.workerPids().length - 1));

  const done = (async () => {
    const queue = plan.mode === 'once_each' ? rng.shuffle(kinds) : null;
    while (!stopped) {
      await sleep(rng.int(plan.minGapMs, plan.maxGapMs), () => stopped);
      if (stopped) break;
      const kind = queue ? queue.shift() : nextKind();
      if (!kind) break;
      const at = Date.now() - runStart;
      say(`fault ${faults.length + 1}: ${kind} at ${(at / 1000).toFixed(1)} s`);
      const detail = await inject(system, kind, worker);
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

/** Per kind the backend goes through, zero included. */
export function countByKind(faults: Fault[], backend: TemporalBackend): Partial<Record<FaultKind, number>> {
  return Object.fromEntries(faultKindsOf[backend].map((kind) => [kind, faults.filter((f) => f.kind === kind).length]));
}
