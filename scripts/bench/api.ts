/**
 * API latency with a year of leads in Postgres (seeded with set-based SQL, not through workflows):
 * lists filtered and paged, a lead with its timeline and workflow, the stats dashboard; each at a
 * fixed request rate beside a bare Express route on the same server, plus the query plans.
 */
import autocannon from 'autocannon';
import { BARE_PATH, type BenchSize } from './config.js';
import { explainEndpoints, printPlans, type EndpointPlans } from './explain.js';
import { waitNotified } from './pipeline.js';
import { cpuMeter, fmtMs, Latencies, round, say, verdict, type LatencySummary } from './report.js';
import { seedLeads } from './seed.js';
import { startStack } from './stack.js';
import { createBenchTeams, login, postLead, wallClockRules } from './teams.js';

const QUEUE = 'bench-api';
const DAY = 86_400_000;

type Kind = 'baseline' | 'list' | 'read' | 'stats';
const targets: Record<Kind, number | null> = { baseline: null, list: 30, read: 30, stats: 300 };
/**
 * Offered load: steady traffic from a team's worth of people (a list or lead view every 100 ms, a
 * dashboard every 500 ms), well under what the server can take, so the figures are latency rather
 * than queueing. The bare route gets the same rate.
 */
const load: Record<Kind, { rate: number; connections: number }> = {
  baseline: { rate: 10, connections: 2 },
  list: { rate: 10, connections: 2 },
  read: { rate: 10, connections: 2 },
  stats: { rate: 2, connections: 1 },
};

interface Endpoint {
  name: string;
  kind: Kind;
  token: string;
  /** A fresh path per request (pages, ids and filters vary). */
  path: () => string;
}

export interface EndpointResult extends LatencySummary {
  name: string;
  kind: Kind;
  rate: number;
  connections: number;
  /** CPU milliseconds per request in the API process, Postgres, the Temporal server and the worker (explain queries). */
  cpuMs: { api: number; postgres: number; temporal: number; worker: number };
  non2xx: number;
  errors: number;
  targetP95Ms: number | null;
  met: boolean | null;
}

export interface ApiResult {
  leads: number;
  endpoints: EndpointResult[];
  plans: EndpointPlans[];
  seqScansOfBigTables: number;
  met: boolean;
}

const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)]!;
const page = (max: number) => 1 + Math.floor(Math.random() * max);

async function measure(url: string, endpoint: Endpoint, seconds: number, pids: { api: number; postgres: number | null; temporal: number | null; worker: number }): Promise<EndpointResult> {
  const { rate, connections } = load[endpoint.kind];
  const run = (duration: number, latencies?: Latencies) => {
    const instance = autocannon({
      url,
      connections,
      duration,
      overallRate: rate,
      timeout: 30,
      headers: endpoint.token ? { authorization: endpoint.token } : {},
      requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: endpoint.path() }) }],
    });
    if (latencies) instance.on('response', (_client, _status, _bytes, ms) => latencies.record(ms));
    return instance;
  };
  await run(Math.min(3, seconds)); // warm-up, not counted
  const latencies = new Latencies();
  const cpu = cpuMeter(pids);
  const result = await run(seconds, latencies);
  const used = cpu.stop();
  // CPU per request in each process: what a request costs whatever else the machine is doing.
  const perRequest = (seconds: number) => round((seconds * 1000) / Math.max(1, latencies.count), 2);
  const cpuMs = { api: perRequest(used.api!), postgres: perRequest(used.postgres!), temporal: perRequest(used.temporal!), worker: perRequest(used.worker!) };
  const target = targets[endpoint.kind];
  const summary = latencies.summary();
  const ok = result.non2xx === 0 && result.errors === 0;
  return {
    name: endpoint.name,
    kind: endpoint.kind,
    rate,
    connections,
    ...summary,
    cpuMs,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    targetP95Ms: target,
    met: target === null ? null : ok && summary.p95 < target,
  };
}

export async function apiBench(size: BenchSize): Promise<ApiResult> {
  const stack = await startStack('api');
  let failed = true;
  try {
    const worker = await stack.startLeadWorker(QUEUE);
    const api = await stack.startApi(QUEUE);
    const pids = { api: api.pid, postgres: stack.postgresPid, temporal: stack.temporalPids.temporal ?? null, worker: worker.pid };
    const teams = await createBenchTeams(stack.orm, { prefix: 'Api', teams: 3, reps: 10, rules: wallClockRules('1h', []) });
    const leads = Number(process.env.BENCH_API_LEADS ?? size.api.leads);
    say(`api: seeding ${leads.toLocaleString('en')} leads over 3 teams of 10 reps, created over the last 365 days`);
    await seedLeads(stack.sql, teams, leads);

    const [admin, manager, rep] = await Promise.all([login(api.url, 'admin@leadline.test'), login(api.url, teams[0]!.manager.email), login(api.url, teams[0]!.reps[0]!.email)]);
    // Leads with a running workflow, so a read asks a live worker what `explain` says.
    const live = await Promise.all(Array.from({ length: size.api.liveLeads }, (_, i) => postLead(api.url, manager, teams[0]!.id, `live-${i}`)));
    await waitNotified(stack.sql, live, 120_000);
    const { rows } = await stack.sql.query<{ id: string }>(`select id from lead where team_id = $1 and email like '%@seed.test' order by random() limit 2000`, [teams[0]!.id]);
    const seeded = rows.map((row) => row.id);

    const now = Date.now();
    const monthAgo = new Date(now - 60 * DAY).toISOString();
    const monthEnd = new Date(now - 30 * DAY).toISOString();
    const endpoints: Endpoint[] = [
      { name: 'bare Express route (same server, no middleware)', kind: 'baseline', token: '', path: () => BARE_PATH },
      { name: 'GET /healthz (every middleware, no I/O)', kind: 'baseline', token: '', path: () => '/healthz' },
      { name: 'GET /api/leads manager: the Leads page as it opens (all the team’s leads), pages 1-5', kind: 'list', token: manager, path: () => `/api/leads?page=${page(5)}` },
      { name: 'GET /api/leads admin: the Leads page as it opens (every lead), pages 1-5', kind: 'list', token: admin, path: () => `/api/leads?page=${page(5)}` },
      { name: 'GET /api/leads manager: open leads of the team, pages 1-20', kind: 'list', token: manager, path: () => `/api/leads?status=assigned,contacted&page=${page(20)}` },
      {
        name: 'GET /api/leads admin: team + converted + a month of created dates, pages 1-10',
        kind: 'list',
        token: admin,
        path: () => `/api/leads?teamId=${pick(teams).id}&status=converted&createdFrom=${monthAgo}&createdTo=${monthEnd}&page=${page(10)}`,
      },
      { name: 'GET /api/leads staff: own leads, pages 1-10', kind: 'list', token: rep, path: () => `/api/leads?page=${page(10)}` },
      { name: 'GET /api/leads manager: search q= (5 digits of a name, email or phone)', kind: 'list', token: manager, path: () => `/api/leads?q=${String(10_000 + Math.floor(Math.random() * 89_999))}` },
      { name: 'GET /api/leads/:id seeded lead (its workflow is gone: Temporal answers not found)', kind: 'read', token: manager, path: () => `/api/leads/${pick(seeded)}` },
      { name: 'GET /api/leads/:id live lead (describe + explain query answered by the worker)', kind: 'read', token: manager, path: () => `/api/leads/${pick(live)}` },
      { name: 'GET /api/stats manager: own team, last 30 days', kind: 'stats', token: manager, path: () => '/api/stats' },
      { name: 'GET /api/stats admin: every team, last 30 days', kind: 'stats', token: admin, path: () => '/api/stats' },
    ];

    say('api: query plans (EXPLAIN ANALYZE, BUFFERS) of the SQL each route runs');
    const plans = await explainEndpoints(
      stack,
      endpoints.filter((e) => e.kind !== 'baseline').map((e) => ({ name: e.name, path: e.path(), token: e.token })),
    );
    for (const report of plans) printPlans(report, say);
    const seqScans = plans.flatMap((p) => p.queries).filter((q) => q.seqScansOfBigTables.length).length;

    const results: EndpointResult[] = [];
    for (const endpoint of endpoints) {
      const seconds = endpoint.kind === 'stats' ? size.api.statsSeconds : size.api.seconds;
      const result = await measure(api.url, endpoint, seconds, pids);
      results.push(result);
      const target = result.targetP95Ms === null ? 'baseline' : `${verdict(Boolean(result.met), `p95 < ${result.targetP95Ms} ms`)}`;
      const cpu = Object.entries(result.cpuMs).map(([name, ms]) => `${name} ${ms}`).join(', ');
      say(`api: ${endpoint.name}: p50 ${fmtMs(result.p50)}, p95 ${fmtMs(result.p95)}, p99 ${fmtMs(result.p99)} (n=${result.count} at ${result.rate}/s, ${result.non2xx} non-2xx; CPU ms per request: ${cpu}) ${target}`);
    }
    const met = results.every((r) => r.met !== false) && seqScans === 0;
    say(verdict(met, `api: every list and read p95 < 30 ms, stats p95 < 300 ms, no sequential scan of a big table (${seqScans} found)`));
    failed = false;
    return { leads, endpoints: results, plans, seqScansOfBigTables: seqScans, met };
  } finally {
    await stack.stop(failed);
  }
}
