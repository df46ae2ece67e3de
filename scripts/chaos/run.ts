import { runChecks, type CheckResult, type RunFigures } from './checks.js';
import { createDriver, type LeadRecord } from './driver.js';
import { countByKind, startFaults, type Fault, type FaultKind, type FaultPlan } from './faults.js';
import { createRng } from './rng.js';
import { chaosPolicy, createTeams, phoneSource, planLeads, type LeadKind } from './scenario.js';
import { waitUntilSettled } from './settle.js';
import { startSystem, type ChaosSystem, type TemporalBackend } from './system.js';

export interface ChaosOptions {
  leads: number;
  seed: number;
  teams: number;
  repsPerTeam: number;
  /** worker.ts processes running at once (a killed one is replaced). */
  workers: number;
  /** The dev server (the default) or the cluster of four role processes on the run's Postgres. */
  temporal?: TemporalBackend;
  /** The cluster's history shards. */
  historyShards?: number;
  /** The policy's unit: escalations and cadence steps come this many seconds apart. */
  stepSeconds: number;
  leadsPerSecond: number;
  faults: FaultPlan;
  /** Once the driver is done: the leads still unsettled when none has settled for `stallMs` (or after `maxMs`) are stuck. */
  settle: { stallMs: number; maxMs: number };
  /** How long one API call may take, and how long it is retried through faults before the run fails. */
  apiPatience?: { attemptMs: number; giveUpMs: number };
  workflowBundlePath?: string;
  say?: (line: string) => void;
  /** The CLI: Ctrl-C stops the system under test rather than leaving its servers behind. */
  stopOnExit?: boolean;
}

export const fullRun: Omit<ChaosOptions, 'seed'> = {
  leads: 1000,
  teams: 3,
  repsPerTeam: 4,
  workers: 2,
  stepSeconds: 3,
  leadsPerSecond: 5,
  faults: { mode: 'random', minGapMs: 8_000, maxGapMs: 20_000 },
  settle: { stallMs: 180_000, maxMs: 3_600_000 },
};

export interface ChaosReport {
  seed: number;
  options: Pick<ChaosOptions, 'leads' | 'teams' | 'repsPerTeam' | 'workers' | 'stepSeconds' | 'leadsPerSecond'>;
  temporal: ChaosSystem['temporalServer'];
  plannedKinds: Record<LeadKind, number>;
  leadsChecked: number;
  durationMs: number;
  phases: { setupMs: number; driveMs: number; settleMs: number; checkMs: number };
  faults: Fault[];
  /** Per kind the backend goes through. */
  faultCounts: Partial<Record<FaultKind, number>>;
  statuses: Record<string, number>;
  workflows: Record<string, number>;
  /** Workflows whose lead the API rolled back after starting them (a fault hit in between); each failed at once. */
  orphanWorkflows: number;
  closes: { ok: number; refused: number };
  figures: RunFigures;
  /** `unavailable`: 503s by the dependency the API named; `retried`: no answer and other 5xx, by what they got. */
  api: { calls: number; unavailable: Record<string, number>; retried: Record<string, number>; errors: string[] };
  /** Worker processes (and Temporal roles) that exited without being asked: each fails the run. */
  unexpectedWorkerExits: ChaosSystem['unexpectedWorkerExits'];
  checks: CheckResult[];
  verdict: 'PASS' | 'FAIL';
  /** Logs and data of a failed run, kept for a look. */
  keptIn: string | null;
}

const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const say = options.say ?? ((line: string) => console.log(`[chaos] ${line}`));
  const started = Date.now();
  const rng = createRng(options.seed);
  say(`seed ${options.seed}: ${options.leads} leads, ${options.teams} teams of ${options.repsPerTeam}, ${options.workers} workers, steps every ${options.stepSeconds} s`);
  const system = await startSystem({
    workers: options.workers,
    temporal: options.temporal ?? 'dev',
    historyShards: options.historyShards,
    workflowBundlePath: options.workflowBundlePath,
    say,
    stopOnExit: options.stopOnExit,
  });
  let failed = true;
  try {
    const rules = chaosPolicy(options.stepSeconds);
    const phones = phoneSource(rng.fork('phones'));
    const teams = await createTeams(system.orm, options.teams, options.repsPerTeam, rules, phones);
    const plans = planLeads(rng.fork('leads'), options.leads, options.teams, options.stepSeconds, phones);
    const records: LeadRecord[] = plans.map((plan) => ({ plan, leadId: null, createdOnRetry: false, contactTried: false, contacted: false, close: null, stop: null }));
    const driver = createDriver(system, teams, options.apiPatience);
    await driver.signIn();
    const optedOut = records.filter((r) => r.plan.kind === 'opted_out');
    await Promise.all(optedOut.map((r) => driver.textFrom(r.plan.phone!, 'STOP')));
    say(`${optedOut.length} phones texted STOP before their leads came in`);
    const setupMs = Date.now() - started;

    const runStart = Date.now();
    const faults = startFaults(system, rng.fork('faults'), options.faults, runStart, say);
    const driverErrors: string[] = [];
    let created = 0;
    const progress = setInterval(() => say(`${((Date.now() - runStart) / 1000).toFixed(0)} s: ${created}/${records.length} leads created, ${driver.stats.calls} API calls`), 15_000);
    await Promise.all(
      records.map(async (record, i) => {
        try {
          await sleepUntil(runStart + (i * 1000) / options.leadsPerSecond);
          await driver.createLead(record);
          created++;
          const { plan } = record;
          const createdAt = Date.now();
          if (plan.contactAfter !== null) {
            await sleepUntil(createdAt + plan.contactAfter);
            await driver.contact(record);
          }
          const from = Date.now();
          await Promise.all([
            plan.stopAfter !== null ? sleepUntil(from + plan.stopAfter).then(() => driver.stop(record)) : null,
            plan.closeAfter !== null ? sleepUntil(from + plan.closeAfter).then(() => driver.close(record, plan.kind === 'convert' ? 'convert' : 'lose')) : null,
          ]);
        } catch (error) {
          driverErrors.push(`${record.plan.name}: ${(error as Error).message}`);
        }
      }),
    );
    clearInterval(progress);
    if (options.faults.mode === 'once_each') await faults.finished;
    await faults.stop();
    const driveMs = Date.now() - runStart;
    say(`driver done after ${(driveMs / 1000).toFixed(0)} s (${driver.stats.calls} API calls); waiting for every lead to settle`);

    const leadIds = records.map((r) => r.leadId).filter((id): id is string => id !== null);
    const settleStart = Date.now();
    const settled = await waitUntilSettled(system.temporal, leadIds, rules, options.settle, say);
    const settleMs = Date.now() - settleStart;
    say(`settled after ${(settleMs / 1000).toFixed(0)} s${settled.unsettled.length ? `; ${settled.unsettled.length} never did` : ''}; checking`);

    const checkStart = Date.now();
    const result = await runChecks({ system, orm: system.orm, records, teams, rules, views: settled.views });
    const api: CheckResult = {
      name: 'api',
      what: 'every action of the driver got an answer from the API through the faults',
      checked: records.length,
      violations: [...driverErrors, ...driver.stats.gaveUp.map((g) => `gave up on ${g.what}: ${g.last}`)],
    };
    const exits: CheckResult = {
      name: 'process_exits',
      what: 'no worker process or Temporal role exited without being asked (each is restarted, but it is a crash)',
      checked: system.processesStarted(),
      violations: system.unexpectedWorkerExits.map((exit) => `${exit.process} ${exit.pid} exited (${exit.code ?? exit.signal})`),
    };
    const checks = [...result.checks, api, exits];
    const verdict = checks.every((c) => c.violations.length === 0) ? 'PASS' : 'FAIL';
    failed = verdict === 'FAIL';
    const plannedKinds = {} as Record<LeadKind, number>;
    for (const plan of plans) plannedKinds[plan.kind] = (plannedKinds[plan.kind] ?? 0) + 1;
    return {
      seed: options.seed,
      temporal: system.temporalServer,
      options: { leads: options.leads, teams: options.teams, repsPerTeam: options.repsPerTeam, workers: options.workers, stepSeconds: options.stepSeconds, leadsPerSecond: options.leadsPerSecond },
      plannedKinds,
      leadsChecked: result.checks[0]!.checked,
      durationMs: Date.now() - started,
      phases: { setupMs, driveMs, settleMs, checkMs: Date.now() - checkStart },
      faults: faults.faults,
      faultCounts: countByKind(faults.faults, system.temporalServer.backend),
      statuses: result.statuses,
      workflows: result.workflows,
      orphanWorkflows: result.orphans,
      closes: { ok: records.filter((r) => r.close?.result === 'ok').length, refused: records.filter((r) => r.close?.result === 'refused').length },
      figures: result.figures,
      api: { calls: driver.stats.calls, unavailable: driver.stats.unavailable, retried: driver.stats.retried, errors: [...driver.stats.errors] },
      unexpectedWorkerExits: system.unexpectedWorkerExits,
      checks,
      verdict,
      keptIn: failed ? system.scratch : null,
    };
  } finally {
    await system.stop(failed);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The report as the CLI prints it: figures, every check with its first violations, the verdict. */
export function formatReport(report: ChaosReport, examples = 10): string {
  const lines: string[] = [];
  const o = report.options;
  const cluster = report.temporal.backend === 'cluster';
  lines.push(`Chaos run, seed ${report.seed} (replay: npm run chaos --${cluster ? ' --cluster' : ''} --seed ${report.seed} --leads ${o.leads})`);
  lines.push(`  leads: ${o.leads} over ${o.teams} teams of ${o.repsPerTeam} reps, ${o.leadsPerSecond}/s, policy step ${o.stepSeconds} s, ${o.workers} worker processes`);
  lines.push(
    report.temporal.backend === 'cluster'
      ? `  Temporal: cluster, frontend, history, matching and worker as four processes on the run's Postgres, ${report.temporal.historyShards} history shards`
      : '  Temporal: dev server on SQLite',
  );
  lines.push(`  planned: ${Object.entries(report.plannedKinds).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  lines.push(`  duration: ${seconds(report.durationMs)} (setup ${seconds(report.phases.setupMs)}, drive ${seconds(report.phases.driveMs)}, settle ${seconds(report.phases.settleMs)}, checks ${seconds(report.phases.checkMs)})`);
  lines.push(`  faults: ${report.faults.length} (${Object.entries(report.faultCounts).map(([k, n]) => `${k} ${n}`).join(', ')})`);
  for (const fault of report.faults) lines.push(`    ${seconds(fault.at).padStart(8)}  ${fault.kind.padEnd(17)} back in ${seconds(fault.tookMs)}: ${fault.detail}`);
  lines.push(`  lead statuses: ${Object.entries(report.statuses).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  lines.push(`  workflows: ${Object.entries(report.workflows).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (report.orphanWorkflows) lines.push(`    of which ${report.orphanWorkflows} started for a lead the API then rolled back (a fault between start and commit; each failed at once with LeadNotFound)`);
  lines.push(`  closes through the API: ${report.closes.ok} done, ${report.closes.refused} refused as already closed`);
  lines.push(`  first contacts the workflow put on record (the API's commit failed after its signal): ${report.figures.contactsRecordedByWorkflow}`);
  const p = report.figures;
  lines.push(`  Twilio: ${p.twilioSends} sends for ${p.smsSent} SMS sent (${p.twilioLookups} lookups after interrupted sends), ${p.smsSuppressed} suppressed, ${p.smsSkipped} skipped (no address), ${p.smsInFlightAtStop} in flight at a STOP`);
  lines.push(`  SendGrid: ${p.sendgridSends} sends for ${p.emailsSent} emails sent; ${p.emailsGivenUp} given up after an interrupted attempt (${p.emailsGivenUpButAccepted} of them had reached SendGrid)`);
  lines.push(`  messages failed for another reason: ${p.otherFailures.length}`);
  for (const failure of p.otherFailures.slice(0, 5)) lines.push(`    ${failure.slice(0, 200)}`);
  const counted = (entries: [string, number][]) => `${entries.reduce((sum, [, n]) => sum + n, 0)}${entries.length ? ` (${entries.map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`;
  const otherServerErrors = Object.entries(report.api.retried).filter(([what]) => what !== 'no answer');
  lines.push(
    `  API: ${report.api.calls} calls, ${counted(Object.entries(report.api.unavailable))} answered 503 while a dependency was down, ` +
      `${counted(otherServerErrors)} other 5xx, ${report.api.retried['no answer'] ?? 0} unanswered; each tried again`,
  );
  for (const error of report.api.errors.slice(0, 5)) lines.push(`    e.g. ${error}`);
  lines.push(`  process exits nobody asked for: ${report.unexpectedWorkerExits.length}`);
  for (const exit of report.unexpectedWorkerExits.slice(0, 3)) lines.push(`    ${exit.process} ${exit.pid} (${exit.code ?? exit.signal}): ${exit.tail.split('\n').filter(Boolean).slice(-3).join(' | ').slice(0, 400)}`);
  lines.push(`  checks (${report.leadsChecked} leads):`);
  for (const check of report.checks) {
    lines.push(`    ${check.violations.length === 0 ? 'ok  ' : 'FAIL'} ${check.name}: ${check.what} (${check.checked} checked${check.violations.length ? `, ${check.violations.length} violations` : ''})`);
    for (const violation of check.violations.slice(0, examples)) lines.push(`           ${violation}`);
  }
  if (report.keptIn) lines.push(`  logs and data kept in ${report.keptIn}`);
  lines.push(`VERDICT: ${report.verdict}`);
  return lines.join('\n');
}
