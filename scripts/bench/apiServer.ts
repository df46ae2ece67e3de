/**
 * The API as the benches run it: its own process, createApp as in production (request logging
 * included), and beside it on the same HTTP server a bare Express route, the baseline every API
 * figure is read against.
 */
import { createServer } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import express from 'express';
import { createApp } from '../../api/app.js';
import { readConfig } from '../../config.js';
import { initORM } from '../../db/orm.js';
import { requestIdClientInterceptor } from '../../requestContext.js';
import { BARE_PATH } from './config.js';

async function main() {
  const config = readConfig();
  if (!config.DATABASE_URL || !config.TEMPORAL_ADDRESS) throw new Error('apiServer.ts needs DATABASE_URL and TEMPORAL_ADDRESS');
  const orm = await initORM(config.DATABASE_URL);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, interceptors: { workflow: [requestIdClientInterceptor] } });
  const app = createApp({ orm, temporal, config });
  const bare = express();
  bare.get(BARE_PATH, (_req, res) => {
    res.json({ ok: true });
  });
  // Two apps, one server: the bare route shares the process and the socket, none of the middleware.
  const server = createServer((req, res) => (req.url === BARE_PATH ? bare(req, res) : app(req, res)));
  server.keepAliveTimeout = 65_000;
  server.listen(config.PORT, '127.0.0.1', () => console.log('bench api ready'));
  const stop = () => {
    server.close();
    server.closeAllConnections();
    void connection.close().then(() => orm.close());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
