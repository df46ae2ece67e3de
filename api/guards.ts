import cors from 'cors';
import type { NextFunction, Request, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { AppError } from './errors.js';

export const defaultLoginRateLimit = { windowMs: 15 * 60_000, max: 10 };

/**
 * Failed sign-ins per client IP and email: guessing one person's password is slowed down without
 * locking them out from everywhere else. Successful sign-ins do not count, so signing in often (as
 * the tests do) is never throttled. Once over the limit, every attempt for that IP and email gets 429
 * until the window ends, the right password too.
 */
export function loginRateLimit({ windowMs, max }: { windowMs: number; max: number }) {
  const limiter = rateLimit({
    windowMs,
    limit: max,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => {
      const email = (req.body as { email?: unknown } | undefined)?.email;
      return `${ipKeyGenerator(req.ip ?? '')}|${typeof email === 'string' ? email.trim().toLowerCase() : ''}`;
    },
    handler: (_req, _res, next) => {
      next(new AppError(429, 'rate_limited', 'Too many sign-in attempts; try again later'));
    },
  });
  // Mounted as middleware rather than a second route, so the router lists sign-in once.
  return (req: Request, res: Response, next: NextFunction) => (req.method === 'POST' ? limiter(req, res, next) : next());
}

/**
 * Bodies of writes are JSON or nothing. A form post or text body would otherwise reach the routes as
 * an empty body and be judged as missing fields; 415 says what is wrong.
 */
export function jsonBodiesOnly(req: Request, _res: Response, next: NextFunction): void {
  // An empty body (`Content-Length: 0`, as browsers send for a bare POST) is no body.
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (['POST', 'PUT', 'PATCH'].includes(req.method) && hasBody && !req.is('application/json')) {
    throw new AppError(415, 'unsupported_media_type', 'Send the request body as application/json');
  }
  next();
}

/**
 * Cross-origin browser access only for the origins configured; none by default, so no CORS header is
 * ever sent unless someone decided to. Credentials are allowed, because the session is a cookie.
 */
export function corsFor(origins: string[]) {
  return cors({ origin: origins, credentials: true, maxAge: 600 });
}
