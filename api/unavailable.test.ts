import { describe, expect, it } from '@jest/globals';
import { DriverException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { Metadata, status } from '@grpc/grpc-js';
import { ServiceError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import pg from 'pg';
import { freePort, testServices } from '../test/services.js';
import { dependencyUnavailable } from './unavailable.js';

/** A gRPC failure as grpc-js hands it to the Temporal client. */
const grpcError = (code: status, details: string) => Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() });

/** pg's error for a server-side SQLSTATE, as the wire protocol parser builds it. */
const sqlState = (code: string, message: string) => Object.assign(new pg.DatabaseError(message, 0, 'error'), { code, severity: 'FATAL' });

/** An error raised for real by `pg` against the test Postgres. */
async function realPgError(run: (client: pg.Client) => Promise<unknown>, url = testServices().postgresUrl): Promise<unknown> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined); // the terminated session also reports on the client
  try {
    await run(client);
  } catch (error) {
    return error;
  } finally {
    await client.end().catch(() => undefined);
  }
  throw new Error('expected pg to fail');
}

describe('which dependency an error says is briefly away', () => {
  it('names Postgres for a refused connection, raw from pg and wrapped by MikroORM', async () => {
    const url = new URL(testServices().postgresUrl);
    url.port = String(await freePort());
    const refused = await realPgError((client) => client.connect(), url.toString());
    expect((refused as { code?: string }).code).toBe('ECONNREFUSED');
    expect(dependencyUnavailable(refused)).toBe('postgres');
    expect(dependencyUnavailable(new DriverException(refused as Error))).toBe('postgres');
  });

  it('names Postgres for a session the server terminates (57P01, as in a restart)', async () => {
    const terminated = await realPgError(async (client) => {
      await client.connect();
      await client.query('select pg_terminate_backend(pg_backend_pid())');
    });
    expect((terminated as { code?: string }).code).toBe('57P01');
    expect(dependencyUnavailable(terminated)).toBe('postgres');
  });

  it('names Postgres for a crash shutdown, a server not yet accepting, and connection exceptions (class 08)', () => {
    expect(dependencyUnavailable(sqlState('57P02', 'terminating connection because of crash of another server process'))).toBe('postgres');
    expect(dependencyUnavailable(sqlState('57P03', 'the database system is starting up'))).toBe('postgres');
    expect(dependencyUnavailable(new DriverException(sqlState('08006', 'connection failure')))).toBe('postgres');
  });

  it("names Postgres for pg's connection-lost messages, which carry no code, and for a reset socket", () => {
    expect(dependencyUnavailable(new Error('Connection terminated unexpectedly'))).toBe('postgres');
    expect(dependencyUnavailable(new DriverException(new Error('Connection terminated unexpectedly')))).toBe('postgres');
    expect(dependencyUnavailable(new Error('Client has encountered a connection error and is not queryable'))).toBe('postgres');
    expect(dependencyUnavailable(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }))).toBe('postgres');
  });

  it('finds the cause under wrappers and inside an AggregateError', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' });
    expect(dependencyUnavailable(new AggregateError([refused], ''))).toBe('postgres');
    expect(dependencyUnavailable(new Error('commit failed', { cause: new Error('Connection terminated unexpectedly') }))).toBe('postgres');
  });

  it('names Temporal for UNAVAILABLE under a ServiceError, and for DEADLINE_EXCEEDED on a call or an update', () => {
    const unreachable = grpcError(status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7233');
    expect(dependencyUnavailable(new ServiceError('Failed to start Workflow', { cause: unreachable }))).toBe('temporal');
    expect(dependencyUnavailable(new ServiceError('Failed to describe workflow', { cause: grpcError(status.DEADLINE_EXCEEDED, 'context deadline exceeded') }))).toBe('temporal');
    expect(dependencyUnavailable(new WorkflowUpdateRPCTimeoutOrCancelledError('context deadline exceeded', { cause: grpcError(status.DEADLINE_EXCEEDED, 'context deadline exceeded') }))).toBe('temporal');
  });

  it('does not take a gRPC status with a socket error in its text for a database outage', () => {
    expect(dependencyUnavailable(grpcError(status.UNAVAILABLE, 'connect ECONNREFUSED 127.0.0.1:7233'))).toBe('temporal');
  });

  it('names nobody for errors about the request or our own faults', () => {
    expect(dependencyUnavailable(new UniqueConstraintViolationException(sqlState('23505', 'duplicate key value violates unique constraint')))).toBeNull();
    expect(dependencyUnavailable(new DriverException(sqlState('42P01', 'relation "lead" does not exist')))).toBeNull();
    expect(dependencyUnavailable(new WorkflowNotFoundError('workflow not found for ID: lead-1', 'lead-1', undefined))).toBeNull();
    expect(dependencyUnavailable(new ServiceError('Failed to query Workflow', { cause: grpcError(status.INVALID_ARGUMENT, 'unknown queryType') }))).toBeNull();
    expect(dependencyUnavailable(new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ message: 'Lead is already converted' })))).toBeNull();
    expect(dependencyUnavailable(new WorkflowUpdateRPCTimeoutOrCancelledError('cancelled', { cause: grpcError(status.CANCELLED, 'Cancelled on client') }))).toBeNull();
    expect(dependencyUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBeNull();
    expect(dependencyUnavailable('a string')).toBeNull();
    expect(dependencyUnavailable(undefined)).toBeNull();
  });
});
