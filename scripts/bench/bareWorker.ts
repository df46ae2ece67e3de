/**
 * The bare workflow's worker, as its own process: the same connection, runtime and worker settings
 * as worker.ts, on its own task queue, with activities that do nothing.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { readConfig } from '../../config.js';

const activities = {
  async noop(): Promise<void> {},
  async now(): Promise<number> {
    return Date.now();
  },
};
export type BareActivities = typeof activities;

async function main() {
  const config = readConfig();
  if (!config.TEMPORAL_ADDRESS || !config.WORKFLOW_BUNDLE) throw new Error('bareWorker.ts needs TEMPORAL_ADDRESS and WORKFLOW_BUNDLE');
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities,
    workflowBundle: { codePath: config.WORKFLOW_BUNDLE },
  });
  console.log('bare worker ready');
  await worker.run();
  await connection.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
