import { describe, expect, it } from '@jest/globals';
import { testServices } from './services.js';

/**
 * The quick version of `npm run chaos`: a few dozen leads, one fault of each kind, the same checks.
 * It brings its own Postgres and Temporal dev server (the shared ones serve other files meanwhile and
 * must not be restarted) and reuses only the workflow bundle. CHAOS_SEED replays a failure.
 */
describe('chaos, quick', () => {
  it('loses, doubles and strands nothing through a worker kill, a Postgres restart and a Temporal restart', async () => {
    // Its in-process API answers 500s while Postgres is down; the report counts them, the log need not.
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
      faults: { mode: 'once_each', minGapMs: 2_000, maxGapMs: 4_000 },
      settle: { stallMs: 45_000, maxMs: 120_000 },
      // Within Jest's timeout, so a hang fails the test with the report rather than leaving servers behind.
      apiPatience: { attemptMs: 60_000, giveUpMs: 90_000 },
      workflowBundlePath: testServices().workflowBundlePath,
      say: (line) => lines.push(line),
    });
    const printed = `${lines.join('\n')}\n${formatReport(report)}`;

    // The whole report is the failure message: every check, its first violations, the faults and the seed.
    if (report.verdict !== 'PASS') throw new Error(printed);
    expect(report.faultCounts).toEqual({ worker_kill: 1, postgres_restart: 1, temporal_restart: 1 });
    expect(report.leadsChecked).toBe(36);
    expect(Object.values(report.statuses).reduce((a, b) => a + b, 0)).toBe(36);
    expect(report.checks.map((c) => c.name)).toEqual(['lead_state', 'workflow_state', 'no_duplicates', 'no_missing_steps', 'provider_calls', 'opt_outs', 'api', 'process_exits']);
    // The fakes saw real SDK calls, and the STOPs suppressed some SMS.
    expect(report.figures.twilioSends).toBeGreaterThan(0);
    expect(report.figures.sendgridSends).toBeGreaterThan(0);
    expect(report.figures.smsSuppressed).toBeGreaterThan(0);
  }, 240_000);
});
