/**
 * A Temporal cluster in the production shape on one machine: the server's four roles (frontend, history,
 * matching, worker) as four processes on a Postgres of the caller's, with the schema set up by Temporal's own
 * SQL tool, the namespace and Leadline's search attributes registered, and optionally the Web UI and a frontend
 * that serves mTLS (`frontendTls`). The server, dynamic and UI configs are the files in deploy/temporal that
 * docker-compose.yml mounts too.
 *
 * `npm run cluster` (scripts/cluster.ts) runs Leadline on top; a caller may also kill and restart one role
 * through its handle in `services`.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { msToTs } from '@temporalio/common/lib/time.js';
import { databaseUrl } from '../../db/databases.js';
import { temporalConnectionOptions, type TemporalConnectionOptions } from '../../temporalConnection.js';
import { searchAttributes } from '../../workflows/definitions.js';
import { logTail, ServiceProcess } from './process.js';
import { findOrBuildTool, temporalServer, temporalSqlTool, temporalUiServer, type GoTool } from './tools.js';

/** server.yaml, dynamic-config.yaml and ui.yaml; the processes run in this folder. */
export const clusterConfigDir = fileURLToPath(new URL('../../deploy/temporal', import.meta.url));

/**
 * In stopping order, callers before what they call: the worker role (Temporal's own system workflows) is a
 * client of the frontend, and history, which owns the shards, goes last.
 */
export const temporalRoles = ['worker', 'frontend', 'matching', 'history'] as const;
export type TemporalRole = (typeof temporalRoles)[number];

export interface RolePorts {
  grpc: number;
  /** Below 32768: Temporal keeps it in a SMALLINT column (cluster_membership.rpc_port). */
  membership: number;
}

export interface ClusterPorts {
  frontend: RolePorts & { http: number };
  history: RolePorts;
  matching: RolePorts;
  worker: RolePorts;
  /** The Web UI; without it none is started. */
  ui?: number;
}

/** Temporal's usual ports, each plus `offset`, so two clusters (or a cluster and `npm start`) can run side by side. */
export function defaultClusterPorts(offset = 0): ClusterPorts {
  return {
    frontend: { grpc: 7233 + offset, http: 7243 + offset, membership: 6933 + offset },
    history: { grpc: 7234 + offset, membership: 6934 + offset },
    matching: { grpc: 7235 + offset, membership: 6935 + offset },
    worker: { grpc: 7239 + offset, membership: 6939 + offset },
    ui: 8233 + offset,
  };
}

/** Ports nobody listens on (for tests and side-by-side runs), all in 20000-32767 so the membership ports fit. */
export async function freeClusterPorts(): Promise<ClusterPorts> {
  const taken = new Set<number>();
  const next = async (): Promise<number> => {
    for (;;) {
      const port = 20_000 + Math.floor(Math.random() * 12_768);
      if (!taken.has(port) && (await canListen(port))) {
        taken.add(port);
        return port;
      }
    }
  };
  const role = async () => ({ grpc: await next(), membership: await next() });
  return { frontend: { ...(await role()), http: await next() }, history: await role(), matching: await role(), worker: await role(), ui: await next() };
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export const DEFAULT_HISTORY_SHARDS = 4;

/**
 * The frontend over TLS with client certificates required (mTLS), from PEM files. The cluster's own clients of
 * the frontend (the history, matching and worker roles, the Web UI and this module's setup calls) verify it by
 * `caFile` and present the `systemCert` pair. Traffic between the roles (internode) stays plain.
 */
export interface FrontendTls {
  certFile: string;
  keyFile: string;
  /** Client certificates must be signed by this CA. */
  clientCaFile: string;
  /** The CA that signed `certFile`. */
  caFile: string;
  systemCertFile: string;
  systemKeyFile: string;
  /** The name to expect on `certFile` where it does not name the frontend's host (127.0.0.1). */
  serverName?: string;
}

/** The variables server.yaml and ui.yaml read their TLS settings from (absolute paths: the processes run in the config folder). */
function frontendTlsEnv(tls: FrontendTls): Record<string, string> {
  return {
    FRONTEND_TLS_CERT_FILE: resolve(tls.certFile),
    FRONTEND_TLS_KEY_FILE: resolve(tls.keyFile),
    FRONTEND_TLS_CLIENT_CA_FILE: resolve(tls.clientCaFile),
    FRONTEND_TLS_CA_FILE: resolve(tls.caFile),
    FRONTEND_TLS_SYSTEM_CERT_FILE: resolve(tls.systemCertFile),
    FRONTEND_TLS_SYSTEM_KEY_FILE: resolve(tls.systemKeyFile),
    ...(tls.serverName ? { FRONTEND_TLS_SERVER_NAME: tls.serverName } : {}),
  };
}

/** How this module's own calls reach the frontend: as the cluster's system client when it serves TLS. */
function frontendConnectionOptions(address: string, tls: FrontendTls | undefined): TemporalConnectionOptions {
  if (!tls) return { address };
  return temporalConnectionOptions(address, {
    TEMPORAL_TLS_CERT: tls.systemCertFile,
    TEMPORAL_TLS_KEY: tls.systemKeyFile,
    TEMPORAL_TLS_CA: tls.caFile,
    TEMPORAL_TLS_SERVER_NAME: tls.serverName,
  });
}

export interface ClusterOptions {
  /** Any database on the Postgres server, as a user that may create databases; Temporal's databases go beside it. */
  postgresUrl: string;
  databases?: { persistence: string; visibility: string };
  ports: ClusterPorts;
  /** Used when the cluster's database is created; an existing cluster keeps the count it was created with. */
  historyShards?: number;
  namespace?: string;
  /** Each process writes `<role>.log` here (and `ui.log`); the schema tool writes `schema.log`. */
  logDir: string;
  /** Progress, one line at a time. */
  say?: (line: string) => void;
  /** A folder with server.yaml, dynamic-config.yaml and ui.yaml of the same shape; deploy/temporal by default. */
  configDir?: string;
  /** Added to the environment of every Temporal process (for settings a config of your own reads). */
  env?: Record<string, string>;
  /** Serve the frontend over mTLS; plain gRPC without it. */
  frontendTls?: FrontendTls;
}

export interface RunningCluster {
  /** The frontend, host:port. */
  address: string;
  uiUrl?: string;
  namespace: string;
  /** As the running cluster reports it. */
  historyShards: number;
  /** One handle per role process: `kill()` is a crash (SIGKILL), `start()` brings it back, `stop()` is graceful. */
  services: Record<TemporalRole, ServiceProcess>;
  ui?: ServiceProcess;
  /** Stops the UI, then the roles in `temporalRoles` order. */
  stop(): Promise<void>;
}

/** A start that failed, with the step that failed in its message. */
export class ClusterStartError extends Error {
  constructor(
    readonly step: string,
    detail: string,
  ) {
    super(`Temporal cluster, ${step}: ${detail}`);
    this.name = 'ClusterStartError';
  }
}

/** Closed leads' histories stay in the UI this long. */
const RETENTION = '7 days';
/** The schemas by their names inside the SQL tool, which carries those of its own server version. */
export const temporalSchemas = { persistence: 'postgresql/v12/temporal', visibility: 'postgresql/v12/visibility' } as const;
/** The names each role's gRPC health check answers to; the worker role serves no gRPC. */
const HEALTH_SERVICE: Partial<Record<TemporalRole, string>> = {
  frontend: 'temporal.api.workflowservice.v1.WorkflowService',
  history: 'temporal.api.workflowservice.v1.HistoryService',
  matching: 'temporal.api.workflowservice.v1.MatchingService',
};
const SERVING = 1;
const GRPC_NOT_FOUND = 5;
const GRPC_ALREADY_EXISTS = 6;

async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ClusterStartError) throw error;
    throw new ClusterStartError(name, error instanceof Error ? error.message : String(error));
  }
}

function tool(spec: GoTool, say: (line: string) => void): string {
  const path = findOrBuildTool(spec, say);
  if (!path) throw new ClusterStartError('build', `no ${spec.label} and none could be built (needs Go; \`npm run tools\` builds it and says why not)`);
  return path;
}

export async function startTemporalCluster(options: ClusterOptions): Promise<RunningCluster> {
  const say = options.say ?? ((line) => console.log(`[cluster] ${line}`));
  const { ports, logDir, configDir = clusterConfigDir, namespace = 'default', historyShards = DEFAULT_HISTORY_SHARDS } = options;
  const databases = options.databases ?? { persistence: 'temporal', visibility: 'temporal_visibility' };
  mkdirSync(logDir, { recursive: true });
  const tooHigh = temporalRoles.filter((role) => ports[role].membership > 32_767);
  if (tooHigh.length) {
    throw new ClusterStartError('ports', `membership ports must be below 32768 (Temporal stores them as SMALLINT): ${tooHigh.map((role) => `${role} ${ports[role].membership}`).join(', ')}`);
  }

  const server = tool(temporalServer, say);
  const sqlTool = tool(temporalSqlTool, say);
  const uiServer = ports.ui ? tool(temporalUiServer, say) : null;

  const db = new URL(options.postgresUrl);
  const dbEnv = {
    TEMPORAL_DB_HOST: db.hostname,
    TEMPORAL_DB_PORT: db.port || '5432',
    TEMPORAL_DB_USER: decodeURIComponent(db.username),
    TEMPORAL_DB_PASSWORD: decodeURIComponent(db.password),
  };
  for (const store of ['persistence', 'visibility'] as const) {
    await step(`schema of ${databases[store]}`, () =>
      setUpSchema({ sqlTool, adminUrl: options.postgresUrl, database: databases[store], schema: temporalSchemas[store], env: dbEnv, logFile: join(logDir, 'schema.log'), say }),
    );
  }

  const address = `127.0.0.1:${ports.frontend.grpc}`;
  const tlsEnv = options.frontendTls ? frontendTlsEnv(options.frontendTls) : {};
  const frontend = frontendConnectionOptions(address, options.frontendTls);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...dbEnv,
    TEMPORAL_DB: databases.persistence,
    TEMPORAL_VISIBILITY_DB: databases.visibility,
    TEMPORAL_HISTORY_SHARDS: String(historyShards),
    TEMPORAL_FRONTEND_PORT: String(ports.frontend.grpc),
    TEMPORAL_FRONTEND_HTTP_PORT: String(ports.frontend.http),
    TEMPORAL_FRONTEND_MEMBERSHIP_PORT: String(ports.frontend.membership),
    TEMPORAL_HISTORY_PORT: String(ports.history.grpc),
    TEMPORAL_HISTORY_MEMBERSHIP_PORT: String(ports.history.membership),
    TEMPORAL_MATCHING_PORT: String(ports.matching.grpc),
    TEMPORAL_MATCHING_MEMBERSHIP_PORT: String(ports.matching.membership),
    TEMPORAL_WORKER_PORT: String(ports.worker.grpc),
    TEMPORAL_WORKER_MEMBERSHIP_PORT: String(ports.worker.membership),
    ...tlsEnv,
    ...options.env,
  };
  const services = Object.fromEntries(
    temporalRoles.map((role) => [
      role,
      new ServiceProcess({
        name: `Temporal ${role}`,
        command: server,
        // --allow-no-auth: no authorizer is configured, and the server warns unless told that is meant.
        args: ['--config', '.', '--env', 'server', '--allow-no-auth', 'start', '--service', role],
        cwd: configDir,
        env,
        logFile: join(logDir, `${role}.log`),
        ready: () => roleReady(role, ports, frontend),
        readyTimeoutMs: 120_000,
      }),
    ]),
  ) as Record<TemporalRole, ServiceProcess>;
  const ui = uiServer
    ? new ServiceProcess({
        name: 'Temporal UI',
        command: uiServer,
        args: ['--config', '.', '--env', 'ui', 'start'],
        cwd: configDir,
        env: { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_UI_PORT: String(ports.ui), ...tlsEnv, ...options.env },
        logFile: join(logDir, 'ui.log'),
        ready: async () => (await fetch(`http://127.0.0.1:${ports.ui}/`)).ok,
      })
    : undefined;

  const stop = async () => {
    for (const service of [ui, ...temporalRoles.map((role) => services[role])]) await service?.stop();
  };
  try {
    say(`starting Temporal ${temporalRoles.join(', ')} (logs in ${logDir})`);
    await Promise.all(temporalRoles.map((role) => step(`starting ${role}`, () => startRole(services[role]))));
    const connection = await step('connecting to the frontend', () => Connection.connect(frontend));
    let shardCount: number;
    try {
      await step(`namespace ${namespace}`, () => ensureNamespace(connection, namespace));
      await step('search attributes', () => ensureSearchAttributes(connection, namespace));
      shardCount = (await connection.workflowService.getClusterInfo({})).historyShardCount;
    } finally {
      await connection.close();
    }
    if (shardCount !== historyShards) {
      say(
        `WARNING: asked for ${historyShards} history shards, but this cluster was created with ${shardCount} and keeps them ` +
          `(the count is fixed once its database exists). To change it, start over with new databases.`,
      );
    }
    if (ui) await step('starting the UI', () => ui.start());
    return { address, uiUrl: ui ? `http://localhost:${ports.ui}` : undefined, namespace, historyShards: shardCount, services, ui, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * On a new database (or a new frontend address) the roles race to write the cluster's metadata record, and a
 * loser exits ("failed to initialize current cluster metadata"). By then the record is there: start it again.
 */
async function startRole(service: ServiceProcess): Promise<void> {
  try {
    await service.start();
  } catch (error) {
    if (!(error instanceof Error && error.message.includes('cluster metadata'))) throw error;
    await service.start();
  }
}

interface SchemaSetup {
  sqlTool: string;
  adminUrl: string;
  database: string;
  /** The schema's name inside the SQL tool, which carries the schema files of its own server version. */
  schema: string;
  env: Record<string, string>;
  logFile: string;
  say: (line: string) => void;
}

/** Creates the database if missing, sets up the versioning at 0.0 if not yet done, and updates to the latest. */
async function setUpSchema({ sqlTool, adminUrl, database, schema, env, logFile, say }: SchemaSetup): Promise<void> {
  const run = (...args: string[]) =>
    runTool(sqlTool, args, {
      ...process.env,
      SQL_PLUGIN: 'postgres12',
      SQL_HOST: env.TEMPORAL_DB_HOST,
      SQL_PORT: env.TEMPORAL_DB_PORT,
      SQL_USER: env.TEMPORAL_DB_USER,
      SQL_PASSWORD: env.TEMPORAL_DB_PASSWORD,
      SQL_DATABASE: database,
    }, logFile);
  if (!(await query(adminUrl, 'select 1 from pg_database where datname = $1', [database]))) {
    say(`creating database ${database}`);
    await run('create-database');
  }
  if (!(await query(databaseUrl(adminUrl, database), `select to_regclass('schema_version') is not null as present`))?.present) {
    say(`setting up schema versioning in ${database}`);
    await run('setup-schema', '--version', '0.0');
  }
  await run('update-schema', '--schema-name', schema);
}

async function query(url: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown> | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows[0] as Record<string, unknown> | undefined;
  } finally {
    await client.end();
  }
}

function runTool(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<void> {
  const log = openSync(logFile, 'a');
  writeSync(log, `$ ${args.join(' ')}\n`);
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', log, log] });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`\`${args.join(' ')}\` failed (exit ${code}); the end of ${logFile}:\n${logTail(logFile)}`));
    });
  }).finally(() => closeSync(log));
}

async function roleReady(role: TemporalRole, ports: ClusterPorts, frontend: TemporalConnectionOptions): Promise<boolean> {
  const service = HEALTH_SERVICE[role];
  if (!service) return listening(ports[role].membership);
  // Only the frontend may serve TLS; the other roles' gRPC is internode traffic, which stays plain.
  const target = role === 'frontend' ? frontend : { address: `127.0.0.1:${ports[role].grpc}` };
  const connection = Connection.lazy({ ...target, connectTimeout: 1_000 });
  try {
    const { status } = await connection.withDeadline(Date.now() + 2_000, () => connection.healthService.check({ service }));
    return status === SERVING;
  } finally {
    await connection.close();
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const grpcCode = (error: unknown) => (isGrpcServiceError(error) ? error.code : undefined);

async function ensureNamespace(connection: Connection, namespace: string): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return;
  } catch (error) {
    if (grpcCode(error) !== GRPC_NOT_FOUND) throw error;
  }
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(RETENTION) });
  } catch (error) {
    if (grpcCode(error) !== GRPC_ALREADY_EXISTS) throw error;
  }
}

/** Registers Leadline's search attributes that are missing; one already there with another type is an error. */
async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  // A namespace registered a moment ago reaches the frontend's cache within seconds (every 2 s by default).
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      const missing: Record<string, number> = {};
      for (const key of Object.values(searchAttributes)) {
        const wanted = encodeSearchAttributeIndexedValueType(key.type)!;
        const existing = customAttributes[key.name];
        if (existing === undefined) missing[key.name] = wanted;
        else if (existing !== wanted) throw new Error(`${key.name} is registered with another type than ${key.type}`);
      }
      if (Object.keys(missing).length === 0) return;
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
    } catch (error) {
      if (grpcCode(error) !== GRPC_NOT_FOUND) throw error;
    }
    if (Date.now() > deadline) throw new Error(`not all of ${Object.values(searchAttributes).map((key) => key.name).join(', ')} registered within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
