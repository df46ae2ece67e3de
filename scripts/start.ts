/**
 * `npm start`: the whole system on one machine. Embedded Postgres unless DATABASE_URL is set,
 * a Temporal dev server with its UI unless TEMPORAL_ADDRESS is set, then migrations, demo data,
 * the worker and the API serving the built web app. Ctrl-C stops all of it.
 */
import { mkdirSync } from 'node:fs';
import exitHook from 'async-exit-hook';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createApp } from '../api/app.js';
import { webRoot } from '../api/server.js';
import { readConfig } from '../config.js';
import { databaseUrl, ensureDatabase } from '../db/databases.js';
import { initORM, migrate } from '../db/orm.js';
import { DEMO_PASSWORD, DemoSeeder, demoUsers } from '../db/seeders/DemoSeeder.js';
import { logger } from '../logger.js';
import { createLeadWorker } from '../worker.js';
import { startEmbeddedPostgres } from './services/postgres.js';
import { startTemporalDevServer } from './services/temporal.js';
import { requestIdClientInterceptor } from '../requestContext.js';
import { temporalConnectionOptions } from '../temporalConnection.js';

const root = join(import.meta.dirname, '..');
const dataDir = join(root, '.data');
const EMBEDDED_POSTGRES_PORT = Number(process.env.EMBEDDED_POSTGRES_PORT ?? 54320);
const TEMPORAL_PORT = 7233;
const TEMPORAL_UI_PORT = 8233;

const stops: (() => Promise<unknown>)[] = [];
const say = (line: string) => console.log(`[leadline] ${line}`);

async function main() {
  const config = readConfig();
  // We stop the worker ourselves, in order, on Ctrl-C; the SDK's own signal handling would race us.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  mkdirSync(dataDir, { recursive: true });

  let databaseURL = config.DATABASE_URL;
  if (!databaseURL) {
    say(`starting embedded Postgres on 127.0.0.1:${EMBEDDED_POSTGRES_PORT} (data in .data/postgres)`);
    const postgres = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), port: EMBEDDED_POSTGRES_PORT, persistent: true });
    stops.unshift(() => postgres.stop());
    await ensureDatabase(postgres.url('postgres'), 'leadline');
    databaseURL = databaseUrl(postgres.url('postgres'), 'leadline');
  }

  let temporalAddress = config.TEMPORAL_ADDRESS;
  if (!temporalAddress) {
    say(`starting the Temporal dev server on 127.0.0.1:${TEMPORAL_PORT}, UI on ${TEMPORAL_UI_PORT} (history in .data/temporal.db)`);
    const temporal = await startTemporalDevServer({ port: TEMPORAL_PORT, uiPort: TEMPORAL_UI_PORT, dbFile: join(dataDir, 'temporal.db') });
    stops.unshift(() => temporal.stop());
    temporalAddress = temporal.address;
  }

  const orm = await initORM(databaseURL);
  stops.unshift(() => orm.close());
  await migrate(orm);
  await orm.seeder.seed(DemoSeeder);
  say('database migrated and demo data in place');

  // TLS and API key settings are for a Temporal of your own, not the dev server started here.
  const connectionOptions = config.TEMPORAL_ADDRESS ? temporalConnectionOptions(temporalAddress, config) : { address: temporalAddress };
  const workerConnection = await NativeConnection.connect(connectionOptions);
  stops.unshift(() => workerConnection.close());
  const worker = await createLeadWorker({ orm, connection: workerConnection, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE });
  const workerRun = worker.run();
  stops.unshift(async () => {
    worker.shutdown();
    await workerRun;
  });

  const clientConnection = await Connection.connect(connectionOptions);
  stops.unshift(() => clientConnection.close());
  const temporal = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE, interceptors: { workflow: [requestIdClientInterceptor] } });
  const app = createApp({ orm, temporal, config, webRoot });
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const listening = app.listen(config.PORT, () => resolve(listening));
  });
  stops.unshift(() => new Promise((resolve) => server.close(resolve)));

  say('ready');
  console.log(`
  Leadline      http://localhost:${config.PORT}
  Temporal UI   ${config.TEMPORAL_UI_URL}
  Health        http://localhost:${config.PORT}/readyz

  Sign in with any of these (password "${DEMO_PASSWORD}"):
${demoUsers.map((u) => `    ${u.email.padEnd(30)} ${u.role}${u.team ? `, team ${u.team}` : ''}`).join('\n')}

  Ctrl-C stops everything; data stays in .data/ for the next start.
`);
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  say('stopping');
  for (const step of stops) {
    try {
      await step();
    } catch (error) {
      logger.warn({ err: error }, 'while stopping');
    }
  }
  say('stopped');
}

// embedded-postgres stops its server through async-exit-hook, which exits the process once every
// hook is done; registering ours there too makes it wait for the rest of the system to stop.
exitHook((done) => void stop().finally(done));
main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'start failed');
  void stop().finally(() => process.exit(1));
});
