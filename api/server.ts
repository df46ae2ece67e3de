import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { readConfig } from '../config.js';
import { initORM } from '../db/orm.js';
import { logger } from '../logger.js';
import { createApp } from './app.js';
import { requestIdClientInterceptor } from '../requestContext.js';
import { temporalConnectionOptions } from '../temporalConnection.js';

export const webRoot = fileURLToPath(new URL('../web/dist', import.meta.url));

/** The API on its own (production shape: see docker-compose.yml); `npm start` runs it in-process instead. */
async function main() {
  const config = readConfig();
  if (!config.DATABASE_URL || !config.TEMPORAL_ADDRESS) {
    throw new Error('api/server.ts on its own needs DATABASE_URL and TEMPORAL_ADDRESS; `npm start` runs everything together');
  }
  const orm = await initORM(config.DATABASE_URL);
  const connection = await Connection.connect(temporalConnectionOptions(config.TEMPORAL_ADDRESS, config));
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, interceptors: { workflow: [requestIdClientInterceptor] } });
  const app = createApp({ orm, temporal, config, webRoot });
  const server = app.listen(config.PORT, () => logger.info({ port: config.PORT }, 'api listening'));
  const stop = () => {
    server.close();
    void connection.close().then(() => orm.close());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    logger.fatal({ err: error }, 'api stopped');
    process.exit(1);
  });
}
