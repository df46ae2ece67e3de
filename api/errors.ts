import { ForbiddenError } from '@casl/ability';
import { NotFoundError } from '@mikro-orm/core';
import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import { logger } from '../logger.js';
import { dependencyUnavailable, type Dependency } from './unavailable.js';

/** The one error type routes throw; the handler below turns it into `{ error: { code, message, details } }`. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what = 'Resource') => new AppError(404, 'not_found', `${what} not found`);

/** A 403 that names the fields the caller may not change, in the shape of validation details. */
export const forbiddenFields = (fields: string[], what: string) =>
  new AppError(403, 'forbidden', `You may not change ${fields.join(', ')} of this ${what}`, fields.map((path) => ({ path, message: 'you may not change this field' })));

/** How long a client should wait before trying again when a dependency is briefly away: about what a restart takes. */
export const RETRY_AFTER_SECONDS = 5;

const dependencyNames: Record<Dependency, string> = { postgres: 'the database', temporal: 'the workflow engine' };

function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ZodError) {
    // An unknown field is reported at its own path, so the caller sees which field to drop.
    const details = error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ path: [...issue.path, key].join('.'), message: 'is not a known field' }))
        : [{ path: issue.path.join('.'), message: issue.message }],
    );
    const fields = [...new Set(details.map((d) => d.path || '(body)'))].join(', ');
    return new AppError(400, 'validation_failed', `Invalid input: ${fields}`, details);
  }
  if (error instanceof ForbiddenError) return new AppError(403, 'forbidden', 'You may not do that');
  if (error instanceof NotFoundError) return notFound();
  const httpError = error as { type?: string; status?: number };
  if (httpError.type === 'entity.parse.failed') return new AppError(400, 'invalid_json', 'The request body is not valid JSON');
  if (httpError.type === 'entity.too.large') return new AppError(413, 'payload_too_large', 'The request body is too large');
  if (httpError.status && httpError.status >= 400 && httpError.status < 500) {
    return new AppError(httpError.status, 'bad_request', 'The request could not be read');
  }
  const dependency = dependencyUnavailable(error);
  if (dependency) {
    return new AppError(503, 'service_unavailable', `Leadline cannot reach ${dependencyNames[dependency]} right now; try again in a few seconds`, { dependency });
  }
  return new AppError(500, 'internal', 'Something went wrong on our side');
}

export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const appError = toAppError(error);
  // `req.log` carries the request id (see requestLog.ts); the bare logger serves errors raised before it ran.
  const log = req.log ?? logger;
  if (appError.status === 503) {
    // A dependency restarting is expected weather, not a bug: a warning, and a hint when to come back.
    log.warn({ err: error, path: req.path, dependency: (appError.details as { dependency?: Dependency } | undefined)?.dependency }, 'dependency unavailable');
    res.set('Retry-After', String(RETRY_AFTER_SECONDS));
  } else if (appError.status >= 500) {
    log.error({ err: error, path: req.path }, 'request failed');
  }
  const { status, code, message, details } = appError;
  res.status(status).json({ error: { code, message, ...(details === undefined ? {} : { details }) } });
};
