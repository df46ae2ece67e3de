import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MikroORM } from '@mikro-orm/core';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from './activities/index.js';
import { leadlineBuildId } from './build.js';
import { readConfig } from './config.js';
import { initORM } from './db/orm.js';
import { logger } from './logger.js';
import type { ProviderSettings } from './messaging/settings.js';
import { requestIdActivityInterceptor } from './requestContext.js';
import { temporalConnectionOptions } from './temporalConnection.js';

export interface WorkerDeps {
  orm: MikroORM;
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** A prebuilt bundle (tests build one per run); otherwise the workflows are bundled at start. */
  workflowBundlePath?: string;
  /** Twilio and SendGrid; by default as configured in the environment. */
  providers?: ProviderSettings;
  /** What the worker tells Temporal it runs; by default `leadlineBuildId()`. */
  buildId?: string;
}

/** The TypeScript source in a checkout, the compiled JavaScript in a production build. */
const sourceOrBuilt = (relative: string) => {
  const source = fileURLToPath(new URL(relative, import.meta.url));
  return existsSync(source) ? source : source.replace(/\.ts$/, '.js');
};
export const workflowsPath = sourceOrBuilt('./workflows/index.ts');
/** Bundled with the workflows (a prebuilt bundle must be made with them too). */
export const workflowInterceptorModules = [sourceOrBuilt('./workflows/requestId.ts')];
/**
 * Pure modules the workflows import, with zod and luxon under them, loaded once per workflow thread
 * rather than once for every workflow the worker takes on (a prebuilt bundle should be made with them).
 * Nothing here may hold per-workflow state: the SDK freezes their exports and shares them.
 */
export const workflowPreloadModules = ['./domain/lead.ts', './domain/duration.ts', './domain/businessHours.ts', './domain/planner.ts'].map(sourceOrBuilt);

/** Quiet below warnings: the bundler's progress lines are noise in every caller's output. */
const bundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

/**
 * The lead workflows bundled as the worker bundles them (interceptors, preloaded modules): a prebuilt
 * WORKFLOW_BUNDLE for worker processes, or the code a replay checks. `path` swaps the workflows (a test's variant).
 */
export async function bundleLeadWorkflows(path = workflowsPath): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: path, workflowInterceptorModules, preloadModules: workflowPreloadModules, logger: bundlerLogger });
  return code;
}

export function createLeadWorker({ orm, connection, namespace, taskQueue, workflowBundlePath, providers, buildId = leadlineBuildId() }: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    // Every poll carries the build id, so DescribeTaskQueue (and GET /api/system) says which build each
    // poller runs. Versioning stays off: tasks are still routed to any worker on the queue.
    workerDeploymentOptions: { version: { deploymentName: 'leadline', buildId }, useWorkerVersioning: false },
    activities: createActivities({ orm, providers }),
    interceptors: { activity: [() => requestIdActivityInterceptor()], workflowModules: workflowInterceptorModules },
    ...(workflowBundlePath ? { workflowBundle: { codePath: workflowBundlePath } } : { workflowsPath, bundlerOptions: { preloadModules: workflowPreloadModules } }),
  });
}

async function main() {
  const config = readConfig();
  if (!config.DATABASE_URL || !config.TEMPORAL_ADDRESS) {
    throw new Error('worker.ts on its own needs DATABASE_URL and TEMPORAL_ADDRESS; `npm start` runs everything together');
  }
  const orm = await initORM(config.DATABASE_URL);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.TEMPORAL_ADDRESS, config));
  const buildId = leadlineBuildId(config);
  const worker = await createLeadWorker({
    orm,
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowBundlePath: config.WORKFLOW_BUNDLE,
    buildId,
  });
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, buildId }, 'worker started');
  await worker.run();
  await connection.close();
  await orm.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    logger.fatal({ err: error }, 'worker stopped');
    process.exit(1);
  });
}
