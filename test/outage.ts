import { createServer, connect, type Socket } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { initORM, type MikroORM } from '../db/orm.js';
import { requestIdClientInterceptor } from '../requestContext.js';
import type { Harness } from './harness.js';
import { testServices } from './services.js';

/**
 * A TCP proxy in front of a dependency, which a test can take away and bring back. `cut()` stops
 * listening, so new connections are refused, and destroys the open ones, as a server that goes down
 * does; `restore()` listens on the same port again, so clients reconnect to the same address.
 */
export interface OutageProxy {
  /** `127.0.0.1:<port>`, for a client to connect to instead of the dependency. */
  address: string;
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startOutageProxy(target: { host: string; port: number }): Promise<OutageProxy> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    const pair = [client, upstream];
    const drop = () => {
      for (const socket of pair) {
        socket.destroy();
        open.delete(socket);
      }
    };
    for (const socket of pair) {
      open.add(socket);
      socket.on('error', drop);
      socket.on('close', drop);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await listen(0);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let listening = true;

  async function cut() {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of open) socket.destroy();
    open.clear();
    await closed;
  }

  return {
    address: `127.0.0.1:${port}`,
    port,
    cut,
    async restore() {
      if (listening) return;
      await listen(port);
      listening = true;
    },
    close: cut,
  };
}

/** What an app needs from its two dependencies, each reached through a proxy of its own. */
export interface ProxiedDependencies {
  orm: MikroORM;
  temporal: Client;
  postgres: OutageProxy;
  temporalServer: OutageProxy;
  stop(): Promise<void>;
}

const hostAndPort = (address: string) => {
  const url = new URL(address.includes('://') ? address : `tcp://${address}`);
  return { host: url.hostname, port: Number(url.port) };
};

/**
 * An ORM on the harness's own database and a Temporal client on the shared dev server, built as the
 * harness builds its own (so an app around them behaves the same) but connected through proxies.
 * The harness's worker keeps its direct connections: only the app loses its dependencies.
 */
export async function throughProxies(h: Harness): Promise<ProxiedDependencies> {
  const databaseUrl = new URL(h.databaseUrl);
  const postgres = await startOutageProxy(hostAndPort(databaseUrl.toString()));
  const temporalServer = await startOutageProxy(hostAndPort(testServices().temporalAddress));
  databaseUrl.host = postgres.address;
  const orm = await initORM(databaseUrl.toString());
  const connection = await Connection.connect({ address: temporalServer.address });
  const temporal = new Client({ connection, namespace: 'default', interceptors: { workflow: [requestIdClientInterceptor] } });
  return {
    orm,
    temporal,
    postgres,
    temporalServer,
    async stop() {
      await Promise.all([postgres.restore(), temporalServer.restore()]);
      await connection.close();
      await orm.close();
      await Promise.all([postgres.close(), temporalServer.close()]);
    },
  };
}
