/**
 * Renders a results file of `npm run bench` as the Markdown tables BENCHMARKS.md keeps:
 * `node --import tsx scripts/bench/markdown.ts <results.json>`.
 */
import { readFileSync } from 'node:fs';
import type { ApiResult } from './api.js';
import type { BatchResult, EngineClusterResult, EngineResult } from './engine.js';
import type { LatencySummary } from './report.js';
import type { ScaleResult } from './scale.js';
import { averageRate, cpuMsPerLead, isTemporalDatabase, LEADS_PER_DAY, PEAK_HOUR_SHARE, peakRate, sizing, tiers, type Tier } from './sizing.js';
import type { SpeedResult } from './speed.js';

interface Load {
  load: { min: number; mean: number; max: number };
  minutes: number;
  uptimeAfter: string;
}
interface Results {
  command: string;
  scale: string;
  started: string;
  finished: string;
  machine: { cpus: number; cpuModel: string; memGiB: number; node: string; uptime: string };
  results: { engine?: EngineResult & Load; engineCluster?: EngineClusterResult & Load; speed?: SpeedResult & Load; api?: ApiResult & Load; scale?: ScaleResult & Load } & Record<string, { error?: string }>;
}

const ms = (value: number) => (Number.isFinite(value) ? (value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`) : 'n/a');
const ok = (met: boolean | null) => (met === null ? '' : met ? 'met' : '**missed**');
const cpu = (used: Record<string, number>, per: number) =>
  Object.entries(used)
    .filter(([name]) => name !== 'bench')
    .map(([name, seconds]) => `${name} ${((seconds * 1000) / per).toFixed(1)}`)
    .join(', ');
const pcts = (s: LatencySummary) => `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.p99)}`;
const loadLine = (r: Load) => `Load average (1 min) during this bench: mean ${r.load.mean}, max ${r.load.max}; ${r.minutes} min; after: \`${r.uptimeAfter}\`.`;

function engine(r: EngineResult & Load): string[] {
  const [a, b] = r.bare;
  return [
    '| run | completed | seconds | per second | CPU ms per item, by process |',
    '|---|---:|---:|---:|---|',
    `| bare workflow (before) | ${a!.count} | ${a!.seconds} | ${a!.perSecond} | ${cpu(a!.cpu, a!.count)} |`,
    `| lead pipeline | ${r.pipeline.count} | ${r.pipeline.seconds} | ${r.pipeline.perSecond} | ${cpu(r.pipeline.cpu, r.pipeline.count)} |`,
    `| bare workflow (after) | ${b!.count} | ${b!.seconds} | ${b!.perSecond} | ${cpu(b!.cpu, b!.count)} |`,
    '',
    `Ratio pipeline / mean bare: **${r.ratio}** (target ≥ ${r.target}): ${ok(r.met)}. The ${r.pipeline.count} POSTs were all accepted in ${r.pipeline.acceptSeconds} s` +
      `${r.pipeline.errors ? ` (${r.pipeline.errors} failed)` : ''}; created to notified under this flood: p50/p95/p99 ${pcts(r.pipeline.createdToNotified)}.`,
    '',
    loadLine(r),
  ];
}

const workersLabel = (n: number) => `${n} worker${n === 1 ? '' : 's'}`;
const perItem = (batch: BatchResult, seconds: number | undefined) => (seconds === undefined ? '—' : ((seconds * 1000) / batch.count).toFixed(1));

function engineCluster(r: EngineClusterResult & Load): string[] {
  const batches = r.phases.flatMap((p) => [
    [`${workersLabel(p.workers)}: bare`, p.bare[0]!],
    [`${workersLabel(p.workers)}: pipeline`, p.pipeline],
    [`${workersLabel(p.workers)}: bare after`, p.bare[1]!],
  ] as const);
  // From the last phase, which has every worker, in the order the bench lists them.
  const processes = [...new Set([...batches].reverse().flatMap(([, batch]) => Object.keys(batch.cpu)))].filter((name) => name !== 'bench');
  const databases = [...new Set(batches.flatMap(([, batch]) => Object.keys(batch.postgresByDatabase)))].sort();
  const row = (name: string, value: (batch: BatchResult) => number | undefined) => `| ${name} | ${batches.map(([, batch]) => perItem(batch, value(batch))).join(' | ')} |`;
  return [
    `The Temporal server 1.29.1 as four processes (frontend, history, matching, worker) on the run's own Postgres, ${r.historyShards} history shards; the same batches with each number of lead workers (and as many bare workers), workers added between phases.`,
    '',
    '| lead workers | bare (before) / s | lead pipeline / s | bare (after) / s | ratio | POSTs accepted in | created→notified p50 / p95 / p99 | load (1 min) mean / max |',
    '|---:|---:|---:|---:|---:|---:|---|---|',
    ...r.phases.map(
      (p) =>
        `| ${p.workers} | ${p.bare[0]!.perSecond} | ${p.pipeline.perSecond} | ${p.bare[1]!.perSecond} | **${p.ratio}** (${ok(p.met)}) | ${p.pipeline.acceptSeconds} s` +
        `${p.pipeline.errors ? ` (${p.pipeline.errors} failed)` : ''} | ${pcts(p.pipeline.createdToNotified)} | ${p.load.mean} / ${p.load.max} |`,
    ),
    '',
    'CPU ms per item (bare workflow or lead), by process; Postgres by the database each backend served (sampled each second; the rest is the postmaster and backends that exited between samples):',
    '',
    `| process | ${batches.map(([label]) => label).join(' | ')} |`,
    `|---|${batches.map(() => '---:').join('|')}|`,
    ...processes.flatMap((name) => [
      row(name, (batch) => batch.cpu[name]),
      ...(name === 'postgres' ? databases.map((database) => row(`&nbsp;&nbsp;${database}`, (batch) => batch.postgresByDatabase[database])) : []),
    ]),
    row('all', (batch) => Object.entries(batch.cpu).reduce((sum, [name, seconds]) => (name === 'bench' ? sum : sum + seconds), 0)),
    '',
    loadLine(r),
  ];
}

const tierNames: Record<Tier, string> = { worker: 'lead worker(s)', temporal: 'Temporal (all its processes)', postgres: 'Postgres', api: 'API' };

/**
 * The sizing tables BENCHMARKS.md keeps beside each other: from each setup's lead pipeline batch, CPU ms per lead
 * and leads per second per core of each tier, and the cores a team with LEADS_PER_DAY needs.
 */
export function sizingTables(columns: { label: string; batch: BatchResult }[]): string[] {
  const sized = columns.map(({ batch }) => {
    const perLead = cpuMsPerLead(batch.cpu, batch.count);
    const temporalDatabases = Object.entries(batch.postgresByDatabase).reduce((sum, [database, seconds]) => (isTemporalDatabase(database) ? sum + (seconds * 1000) / batch.count : sum), 0);
    return { all: sizing(perLead), temporalDatabases };
  });
  const head = (what: string) => [`| ${what} | ${columns.map((c) => c.label).join(' | ')} |`, `|---|${columns.map(() => '---:').join('|')}|`];
  const rows = (cell: (s: (typeof sized)[number], tier: Tier | 'total') => string) => [
    ...tiers.map((tier) => `| ${tierNames[tier]} | ${sized.map((s) => cell(s, tier)).join(' | ')} |`),
    `| the whole system | ${sized.map((s) => cell(s, 'total')).join(' | ')} |`,
  ];
  const average = averageRate(LEADS_PER_DAY).toFixed(2);
  const peak = peakRate(LEADS_PER_DAY, PEAK_HOUR_SHARE).toFixed(2);
  return [
    ...head('CPU ms per lead → leads/s per core'),
    ...rows((s, tier) => `${s.all[tier].cpuMsPerLead.toFixed(1)} ms → ${s.all[tier].leadsPerSecondPerCore.toFixed(1)}/s`),
    `| of Postgres: Temporal's databases | ${sized.map((s) => (s.temporalDatabases ? `${s.temporalDatabases.toFixed(1)} ms` : '—')).join(' | ')} |`,
    '',
    `${LEADS_PER_DAY.toLocaleString('en')} leads a day: ${average}/s on average; assumed: ${PEAK_HOUR_SHARE * 100}% of them in the busiest hour, ${peak}/s. Cores busy then (on average over the day):`,
    '',
    ...head(`cores at ${peak} leads/s (at ${average}/s)`),
    ...rows((s, tier) => `${s.all[tier].coresPeak.toFixed(2)} (${s.all[tier].coresAverage.toFixed(2)})`),
  ];
}

function speed(r: SpeedResult & Load): string[] {
  return [
    '| offered | achieved | bare start→completed p50 / p95 / p99 | **lead created→task+notice p50 / p95 / p99** | created→assigned p50 / p95 | created→task p50 / p95 | POST /api/leads p50 / p95 | failed POSTs |',
    '|---:|---:|---|---|---|---|---|---:|',
    ...r.runs.map(
      (run) =>
        `| ${run.rate}/s | ${run.offered.perSecond}/s | ${pcts(run.bare)} | **${pcts(run.lead.createdToNotified)}** | ${ms(run.lead.createdToAssigned.p50)} / ${ms(run.lead.createdToAssigned.p95)} | ` +
        `${ms(run.lead.createdToTask.p50)} / ${ms(run.lead.createdToTask.p95)} | ${ms(run.lead.httpPost.p50)} / ${ms(run.lead.httpPost.p95)} | ${run.lead.errors} |`,
    ),
    '',
    'CPU ms per lead, by process: ' + r.runs.map((run) => `${run.rate}/s: ${cpu(run.cpu, run.lead.createdToNotified.count)}`).join('; ') + '.',
    '',
    `Target ${r.target}: ${ok(r.met)}.`,
    '',
    loadLine(r),
  ];
}

function api(r: ApiResult & Load): string[] {
  const lines = [
    `${r.leads.toLocaleString('en')} leads. Latency at a steady offered rate (autocannon, \`overallRate\`), recorded per response with hdr-histogram-js.`,
    '',
    '| endpoint | rate | p50 | p95 | p99 | CPU ms per request (API / Postgres / Temporal / worker) | target p95 | |',
    '|---|---:|---:|---:|---:|---|---:|---|',
    ...r.endpoints.map(
      (e) =>
        `| ${e.name} | ${e.rate}/s | ${ms(e.p50)} | ${ms(e.p95)} | ${ms(e.p99)} | ${e.cpuMs.api} / ${e.cpuMs.postgres} / ${e.cpuMs.temporal} / ${e.cpuMs.worker} | ${e.targetP95Ms === null ? 'baseline' : `< ${e.targetP95Ms} ms`} | ${ok(e.met)}${e.non2xx || e.errors ? ` (${e.non2xx} non-2xx, ${e.errors} errors)` : ''} |`,
    ),
    '',
    `Sequential scans of lead, lead_event, task or message in the plans: ${r.seqScansOfBigTables}. Verdict: ${ok(r.met)}.`,
    '',
    loadLine(r),
    '',
    '<details><summary>Query plans: every select each route ran, under EXPLAIN (ANALYZE, BUFFERS)</summary>',
    '',
  ];
  for (const plan of r.plans) {
    lines.push(`**${plan.endpoint}** \`${plan.path}\``, '');
    for (const q of plan.queries) {
      const sql = q.sql.length > 160 ? `${q.sql.slice(0, 160)}…` : q.sql;
      lines.push(`- ${ms(q.executionMs)}, buffers hit ${q.sharedHit} read ${q.sharedRead}: ${q.scans.join('; ') || 'no table'}${q.seqScansOfBigTables.length ? ' **(sequential scan of a big table)**' : ''}  `, `  \`${sql.replace(/`/g, "'")}\``);
    }
    lines.push('');
  }
  lines.push('</details>');
  return lines;
}

function scale(r: ScaleResult & Load): string[] {
  const m = r.memoryMiB;
  return [
    `${r.openWorkflows.toLocaleString('en')} lead workflows open on one dev server and one worker (created at ${r.createdPerSecond} leads/s, each batch waiting for its assignments).`,
    '',
    '| RSS (MiB) | worker | temporal server |',
    '|---|---:|---:|',
    `| idle, before any lead (baseline) | ${m.idle.worker} | ${m.idle.temporal} |`,
    `| ${r.openWorkflows.toLocaleString('en')} open, waiting on timers | ${m.open.worker} | ${m.open.temporal} |`,
    `| after the deadlines (peak) | ${m.afterTimers.worker} (${m.afterTimers.workerPeak}) | ${m.afterTimers.temporal} (${m.afterTimers.temporalPeak}) |`,
    '',
    `${r.due.count} first-contact deadlines (SLA ${r.due.sla}, a \`remind_assignee\` step at the same time) fell within ${r.due.spreadSeconds} s, ${r.due.arrivalPerSecond}/s; their escalations were recorded at ${r.due.escalatedPerSecond}/s.`,
    '',
    '| lateness (recorded − planned) | p50 | p99 | max | min |',
    '|---|---:|---:|---:|---:|',
    `| escalations (\`escalated\` event time − the task's due time) | ${ms(r.lateness.escalations.p50)} | ${ms(r.lateness.escalations.p99)} | ${ms(r.lateness.escalations.max)} | ${ms(r.lateness.escalations.min)} |`,
    `| bare timers, same spacing (activity time − due time; baseline) | ${ms(r.lateness.bareTimers.p50)} | ${ms(r.lateness.bareTimers.p99)} | ${ms(r.lateness.bareTimers.max)} | ${ms(r.lateness.bareTimers.min)} |`,
    '',
    `Target p99 < 2 s: ${ok(r.met)}.`,
    '',
    loadLine(r),
  ];
}

export function render(results: Results): string {
  const { machine } = results;
  const out = [
    `Command: \`${results.command}\` (scale ${results.scale}), ${results.started} to ${results.finished}.`,
    '',
    `Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memGiB} GiB RAM, Node ${machine.node}. At the start: \`${machine.uptime}\`.`,
    '',
  ];
  const sections: [string, (r: never) => string[]][] = [
    ['engine', engine as (r: never) => string[]],
    ['engineCluster', engineCluster as (r: never) => string[]],
    ['speed', speed as (r: never) => string[]],
    ['api', api as (r: never) => string[]],
    ['scale', scale as (r: never) => string[]],
  ];
  for (const [name, section] of sections) {
    const r = results.results[name];
    if (!r) continue;
    out.push(`### ${name}`, '');
    out.push(...(r.error ? [`Failed: \`${r.error}\``] : section(r as never)), '');
  }
  return out.join('\n');
}

/** The lead pipeline batches of the engine benches among `files`, dev server and cluster, for the sizing tables. */
function sizingColumns(files: Results[]): { label: string; batch: BatchResult }[] {
  return files.flatMap(({ results: { engine, engineCluster } }) => [
    ...(engine?.pipeline ? [{ label: 'dev server, 1 worker', batch: engine.pipeline }] : []),
    ...(engineCluster?.phases ?? []).map((p) => ({ label: `cluster, ${workersLabel(p.workers)}`, batch: p.pipeline })),
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = process.argv.slice(2).map((path) => JSON.parse(readFileSync(path, 'utf8')) as Results);
  for (const results of files) console.log(render(results));
  const columns = sizingColumns(files);
  if (columns.length) console.log(['### sizing', '', ...sizingTables(columns), ''].join('\n'));
}
