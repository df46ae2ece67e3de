import { proxyActivities, sleep } from '@temporalio/workflow';
import type { BareActivities } from './bareWorker.js';

/** The engine's floor: the same activity options as the lead workflow's, and nothing else. */
const { noop, now } = proxyActivities<BareActivities>({ startToCloseTimeout: '10s', retry: { initialInterval: '1s', maximumInterval: '1m' } });

/** One workflow, one no-op activity: what the dev server and a worker manage per second at best. */
export async function bareWorkflow(): Promise<void> {
  await noop();
}

/** Sleeps until `dueAt` (epoch ms), then answers when its activity ran: the engine's own timer lateness. */
export async function bareTimerWorkflow(dueAt: number): Promise<number> {
  await sleep(Math.max(0, dueAt - Date.now()));
  return (await now()) - dueAt;
}
