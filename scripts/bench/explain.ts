/**
 * The SQL behind each API route, as MikroORM runs it, and Postgres's account of it: every select an
 * endpoint sends is captured from MikroORM's query log (an in-process copy of the app on the same
 * database) and run again under EXPLAIN (ANALYZE, BUFFERS).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DefaultLogger, type LogContext } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { createApp } from '../../api/app.js';
import { ormConfig } from '../../mikro-orm.config.js';
import { fmtMs } from './report.js';
import { JWT_SECRET, type Stack } from './stack.js';

/** Tables that grow with the leads: a sequential scan of one of these is a missing index. */
const BIG_TABLES = new Set(['lead', 'lead_event', 'task', 'message']);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

export interface QueryPlan {
  sql: string;
  executionMs: number;
  planningMs: number;
  sharedHit: number;
  sharedRead: number;
  /** Each scan, as "Index Only Scan lead_team_id_status_created_at_index on lead". */
  scans: string[];
  seqScansOfBigTables: string[];
}

export interface EndpointPlans {
  endpoint: string;
  path: string;
  queries: QueryPlan[];
}

class CaptureLogger extends DefaultLogger {
  readonly queries: string[] = [];
  override logQuery(context: LogContext & { query: string }): void {
    this.queries.push(context.query);
  }
}

function scans(node: PlanNode, into: string[] = []): string[] {
  if (node['Relation Name']) {
    into.push(`${node['Node Type']}${node['Index Name'] ? ` ${node['Index Name']}` : ''} on ${node['Relation Name']}`);
  } else if (node['Index Name']) {
    into.push(`${node['Node Type']} ${node['Index Name']}`);
  }
  for (const child of node.Plans ?? []) scans(child, into);
  return into;
}

export async function explainEndpoints(stack: Stack, endpoints: { name: string; path: string; token: string }[]): Promise<EndpointPlans[]> {
  let logger: CaptureLogger | undefined;
  const orm = await MikroORM.init({
    ...ormConfig(stack.databaseUrl),
    debug: ['query', 'query-params'],
    loggerFactory: (options) => (logger = new CaptureLogger(options)),
  });
  const app = createApp({
    orm,
    temporal: stack.client,
    config: { NODE_ENV: 'test', TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: 'unused', TEMPORAL_UI_URL: 'http://localhost:8233', JWT_SECRET },
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const reports: EndpointPlans[] = [];
    for (const endpoint of endpoints) {
      logger!.queries.length = 0;
      const res = await fetch(base + endpoint.path, { headers: { authorization: endpoint.token } });
      if (!res.ok) throw new Error(`${endpoint.path}: ${res.status} ${await res.text()}`);
      // Reads of our tables; not MikroORM's own look at the catalog when it first connects.
      const selects = logger!.queries.filter((sql) => /^\s*(select|with)\b/i.test(sql) && !/\bfrom pg_/.test(sql));
      const queries: QueryPlan[] = [];
      for (const sql of selects) {
        const { rows } = await stack.sql.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number; 'Planning Time': number; Planning?: unknown }] }>(
          `explain (analyze, buffers, format json) ${sql}`,
        );
        const [plan] = rows[0]!['QUERY PLAN'];
        const root = plan.Plan as PlanNode & { 'Shared Hit Blocks'?: number; 'Shared Read Blocks'?: number };
        const found = scans(root);
        queries.push({
          sql: sql.replace(/\s+/g, ' '),
          executionMs: plan['Execution Time'],
          planningMs: plan['Planning Time'],
          sharedHit: root['Shared Hit Blocks'] ?? 0,
          sharedRead: root['Shared Read Blocks'] ?? 0,
          scans: found,
          seqScansOfBigTables: found.filter((scan) => scan.startsWith('Seq Scan') && BIG_TABLES.has(scan.split(' on ')[1] ?? '')),
        });
      }
      reports.push({ endpoint: endpoint.name, path: endpoint.path, queries });
    }
    return reports;
  } finally {
    server.close();
    await orm.close();
  }
}

export function printPlans(report: EndpointPlans, say: (line: string) => void): void {
  say(`explain ${report.endpoint} (${report.path}):`);
  for (const q of report.queries) {
    const flag = q.seqScansOfBigTables.length ? '  <-- SEQ SCAN of a big table' : '';
    say(`  ${fmtMs(q.executionMs).padStart(9)}  buffers hit ${q.sharedHit} read ${q.sharedRead}  ${q.scans.join('; ') || 'no table'}${flag}`);
    say(`             ${q.sql.length > 220 ? `${q.sql.slice(0, 220)}...` : q.sql}`);
  }
}
