/** How big each bench runs: `full` is what BENCHMARKS.md records, `small` a quick smoke run. */
export type Scale = 'small' | 'full';

export interface BenchSize {
  scale: Scale;
  engine: { warmup: number; workflows: number; leads: number; concurrency: number };
  speed: { rates: number[]; seconds: number; warmupSeconds: number };
  api: { leads: number; seconds: number; statsSeconds: number; liveLeads: number };
  timers: { open: number; due: number };
}

export const sizes: Record<Scale, BenchSize> = {
  full: {
    scale: 'full',
    engine: { warmup: 100, workflows: 2_000, leads: 2_000, concurrency: 50 },
    speed: { rates: [5, 25, 50], seconds: 60, warmupSeconds: 10 },
    api: { leads: 1_000_000, seconds: 30, statsSeconds: 60, liveLeads: 20 },
    timers: { open: 20_000, due: 2_000 },
  },
  small: {
    scale: 'small',
    engine: { warmup: 30, workflows: 200, leads: 200, concurrency: 50 },
    speed: { rates: [5, 25, 50], seconds: 10, warmupSeconds: 3 },
    api: { leads: 50_000, seconds: 5, statsSeconds: 10, liveLeads: 5 },
    timers: { open: 1_000, due: 200 },
  },
};

/** Teams and reps the pipeline benches spread leads over: assignments of one team are decided one at a time. */
export const PIPELINE_TEAMS = 4;
export const PIPELINE_REPS = 5;

/** The bare Express route the API server runs beside the app (see apiServer.ts). */
export const BARE_PATH = '/bench/bare';
