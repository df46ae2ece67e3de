import { describe, expect, it } from '@jest/globals';
import { testServices } from './services.js';

/**
 * The quick version of `npm run chaos -- --cluster`: test/chaos.test.ts's few dozen leads on Temporal in
 * the production shape, four role processes on the run's own Postgres, while the frontend, history and
 * matching are each SIGKILLed once besides a worker kill and a Postgres restart. CHAOS_SEED replays a failure.
 */
describe('chaos on the Temporal cluster, quick', () => {
  it('loses, doubles and strands nothing through a crash of each Temporal role, a worker kill and a Postgres restart', async () => {
    process.env.LOG_LEVEL = 'silent';
    const { formatReport, runChaos } = await import('../scripts/chaos/run.js');
    const seed = Number(process.env.CHAOS_SEED ?? 7);
    const lines: string[] = [];
    const report = await runChaos({
      seed,
      leads: 36,
      teams: 2,
      repsPerTeam: 3,
      workers: 2,
      stepSeconds: 2,
      leadsPerSecond: 6,
      temporal: 'cluster',
      historyShards: 4,
      faults: { mode: 'once_each', minGapMs: 2_000, maxGapMs: 4_000 },
      settle: { stallMs: 45_000, maxMs: 120_000 },
      apiPatience: { attemptMs: 60_000, giveUpMs: 90_000 },
      workflowBundlePath: testServices().workflowBundlePath,
      say: (line) => lines.push(line),
    });
    const printed = `${lines.join('\n')}\n${formatReport(report)}`;

    if (report.verdict !== 'PASS') throw new Error(printed);
    expect(report.temporal).toEqual({ backend: 'cluster', historyShards: 4 });
    expect(report.faultCounts).toEqual({ worker_kill: 1, postgres_restart: 1, frontend_kill: 1, history_kill: 1, matching_kill: 1 });
    expect(report.leadsChecked).toBe(36);
    expect(report.checks.map((c) => c.name)).toEqual(['lead_state', 'workflow_state', 'no_duplicates', 'no_missing_steps', 'provider_calls', 'opt_outs', 'api', 'process_exits']);
    // The two workers and the four roles at the start, then one replacement per kill.
    expect(report.checks.find((c) => c.name === 'process_exits')!.checked).toBe(10);
    expect(report.figures.twilioSends).toBeGreaterThan(0);
    expect(report.figures.smsSuppressed).toBeGreaterThan(0);
  }, 300_000);
});
