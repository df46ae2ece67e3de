import { AsyncLocalStorage } from 'node:async_hooks';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { ActivityInboundCallsInterceptor } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { logger } from './logger.js';
import { readRequestId, withRequestId } from './workflows/requestId.js';

/** The API request being served, so what it starts in Temporal carries its id. */
export const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/** The id of the request being served here, if any. */
export const currentRequestId = () => requestContext.getStore()?.requestId;
const current = currentRequestId;

/** Client side: every start, signal and update carries the current request's id as a header. */
export const requestIdClientInterceptor: WorkflowClientInterceptor = {
  start: (input, next) => next({ ...input, headers: withRequestId(input.headers, current()) }),
  signal: (input, next) => next({ ...input, headers: withRequestId(input.headers, current()) }),
  startUpdate: (input, next) => next({ ...input, headers: withRequestId(input.headers, current()) }),
};

/**
 * Worker side: an activity runs in the context of the request id it came with (so the timeline
 * rows it writes carry it) and logs one line with its workflow and outcome.
 */
export function requestIdActivityInterceptor(): { inbound: ActivityInboundCallsInterceptor } {
  return {
    inbound: {
      async execute(input, next) {
        const info = Context.current().info;
        const requestId = readRequestId(input.headers);
        const log = logger.child({ activity: info.activityType, workflowId: info.workflowExecution?.workflowId, attempt: info.attempt, requestId: requestId ?? null });
        const started = Date.now();
        try {
          const result = requestId ? await requestContext.run({ requestId }, () => next(input)) : await next(input);
          log.debug({ ms: Date.now() - started }, 'activity completed');
          return result;
        } catch (error) {
          log.warn({ ms: Date.now() - started, err: error }, 'activity failed');
          throw error;
        }
      },
    },
  };
}
