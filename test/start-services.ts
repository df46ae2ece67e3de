import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { databaseUrl, ensureDatabase } from '../db/databases.js';
import { initORM, migrate } from '../db/orm.js';
import { startEmbeddedPostgres } from '../scripts/services/postgres.js';
import { startTemporalDevServer } from '../scripts/services/temporal.js';
import { bundleLeadWorkflows } from '../worker.js';
import { freePort, publishServices, scratchDir } from './services.js';
import stopServices from './stop-services.js';

const TEMPLATE = 'leadline_template';

/**
 * One embedded Postgres, one Temporal dev server and one workflow bundle for the whole run.
 * Each test file then copies the migrated template database and runs its own worker.
 */
export default async function startServices(): Promise<void> {
  const scratch = scratchDir('leadline-test-');
  const [pgPort, temporalPort, temporalUiPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const [postgres, temporal] = await Promise.all([
    startEmbeddedPostgres({ dataDir: join(scratch.path, 'pg'), port: pgPort, persistent: false }),
    // With its UI (it adds no measurable start-up time), so the browser tests can follow "Open in Temporal UI".
    startTemporalDevServer({ port: temporalPort, uiPort: temporalUiPort, log: () => undefined }),
  ]);

  globalThis.__leadlineTestServices = { postgres, temporal, scratch };
  try {
    const serverUrl = postgres.url('postgres');
    await ensureDatabase(serverUrl, TEMPLATE);
    const orm = await initORM(databaseUrl(serverUrl, TEMPLATE));
    await migrate(orm);
    await orm.close();

    const code = await bundleLeadWorkflows();
    const workflowBundlePath = join(scratch.path, 'workflow-bundle.js');
    writeFileSync(workflowBundlePath, code);
    publishServices({ postgresUrl: serverUrl, templateDatabase: TEMPLATE, temporalAddress: temporal.address, temporalUiUrl: `http://127.0.0.1:${temporalUiPort}`, workflowBundlePath });
  } catch (error) {
    // Jest skips global teardown when setup fails; leave no servers behind.
    await stopServices();
    throw error;
  }
}


declare global {
  var __leadlineTestServices:
    | { postgres: { stop(): Promise<void> }; temporal: { stop(): Promise<void> }; scratch: { remove(): void } }
    | undefined;
}
