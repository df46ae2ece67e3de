import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import type { WorkflowInterceptors } from '@temporalio/workflow';

/**
 * The API request that caused a workflow step travels as a Temporal header: from the client
 * (start, signal, update) into the workflow, and from there onto each activity it schedules, whose
 * log lines carry it. Registered as a workflow interceptor module (see worker.ts).
 */
export const REQUEST_ID_HEADER = 'leadline-request-id';

export function readRequestId(headers: Headers): string | undefined {
  const payload = headers[REQUEST_ID_HEADER];
  return payload ? (defaultPayloadConverter.fromPayload(payload) as string) : undefined;
}

export function withRequestId(headers: Headers, requestId: string | undefined): Headers {
  return requestId ? { ...headers, [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(requestId) } : headers;
}

/**
 * The request id of the latest start, signal or update this run received. Kept on `globalThis`,
 * which the SDK gives each workflow run its own copy of, so runs sharing a V8 context cannot mix them up.
 */
const scope = globalThis as { leadlineRequestId?: string };
const remember = (headers: Headers) => {
  scope.leadlineRequestId = readRequestId(headers) ?? scope.leadlineRequestId;
};

export const interceptors = (): WorkflowInterceptors => ({
  inbound: [
    {
      execute(input, next) {
        remember(input.headers);
        return next(input);
      },
      handleSignal(input, next) {
        remember(input.headers);
        return next(input);
      },
      handleUpdate(input, next) {
        remember(input.headers);
        return next(input);
      },
    },
  ],
  outbound: [
    {
      scheduleActivity(input, next) {
        return next({ ...input, headers: withRequestId(input.headers, scope.leadlineRequestId) });
      },
      scheduleLocalActivity(input, next) {
        return next({ ...input, headers: withRequestId(input.headers, scope.leadlineRequestId) });
      },
    },
  ],
});
