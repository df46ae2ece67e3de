import { status } from '@grpc/grpc-js';
import { isGrpcServiceError } from '@temporalio/client';

/** The two services a request can find briefly away; anything else that fails is a fault of ours (500). */
export type Dependency = 'postgres' | 'temporal';

/**
 * Socket errors as `pg` raises them when Postgres is restarting or unreachable. The API opens sockets
 * to Postgres and to Temporal only, and Temporal's failures arrive as gRPC statuses (below), so a bare
 * socket error anywhere in a chain is the database's. ENOTFOUND and EAI_AGAIN: a container being
 * restarted drops out of Compose's DNS for a moment.
 */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * SQLSTATEs of a server that is going or coming: class 08 (connection exception), 57P01 admin
 * shutdown (a restart terminates every session), 57P02 crash shutdown, 57P03 cannot connect now
 * (starting up, shutting down, in recovery).
 */
const POSTGRES_AWAY = /^(08...|57P0[123])$/;

/**
 * `pg`'s own words for a connection that went away under it; they carry no code: "Connection
 * terminated unexpectedly" (the server closed it), "... due to connection timeout", and "Client has
 * encountered a connection error and is not queryable" (a pooled client that lost its socket).
 */
const PG_CONNECTION_LOST = /^Connection terminated\b|connection error and is not queryable$/;

/**
 * gRPC statuses from `@temporalio/client` that mean the server is away, after the client's own retries
 * (about 20 s of them) ran out. UNAVAILABLE: no connection. DEADLINE_EXCEEDED: no route sets a deadline
 * of its own, so this is the server's, which it answers while its history and matching services are
 * still starting after a restart (or are overloaded); either way the same call is worth making again
 * shortly, which is what 503 says. An update that timed out this way may still be applied: a retried
 * convert then gets an honest 409 `lead_closed`.
 */
const TEMPORAL_AWAY = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]);

/** The error, its `cause`s and, for an AggregateError (a refused dual-stack connect), its parts. */
function* chain(error: unknown, depth = 0): Generator<unknown> {
  if (depth > 8 || error === null || error === undefined) return;
  yield error;
  if (typeof error !== 'object') return;
  const { errors, cause } = error as { errors?: unknown; cause?: unknown };
  if (Array.isArray(errors)) for (const part of errors) yield* chain(part, depth + 1);
  yield* chain(cause, depth + 1);
}

/**
 * Which dependency, if any, the error says is briefly unavailable. The one place that decides it;
 * the error handler turns a yes into 503 `service_unavailable` with `Retry-After`. Decided on codes and
 * `pg`'s fixed messages, never on the wrapper class: MikroORM wraps some of these in `DriverException`
 * (copying `code` over) and leaves others as `pg` threw them, and Temporal wraps its gRPC error in a
 * `ServiceError` (or `WorkflowUpdateRPCTimeoutOrCancelledError`) whose `cause` carries the status.
 */
export function dependencyUnavailable(error: unknown): Dependency | null {
  for (const link of chain(error)) {
    if (isGrpcServiceError(link)) {
      if (TEMPORAL_AWAY.has(link.code)) return 'temporal';
      continue;
    }
    // Duck-typed, not `instanceof Error`: socket errors come from Node's own realm, which a test VM is not.
    if (typeof link !== 'object' || link === null) continue;
    const { code, message } = link as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (SOCKET_CODES.has(code) || POSTGRES_AWAY.test(code))) return 'postgres';
    if (typeof message === 'string' && PG_CONNECTION_LOST.test(message)) return 'postgres';
  }
  return null;
}
