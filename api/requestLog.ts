import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pinoHttp } from 'pino-http';
import { logger } from '../logger.js';

/** A caller's own request id is kept only when it cannot smuggle anything into a header or a log line. */
const CALLER_ID = /^[\w.:-]{1,128}$/;

/**
 * Gives every request an id, echoed in `X-Request-Id` (the caller's own when it sends a sane one,
 * so a trace spans services), and a `req.log` that carries it. Logs each request when `logRequests`
 * is set; never headers, which carry tokens and cookies.
 */
export function requestLog(logRequests: boolean) {
  return pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const callerId = req.headers['x-request-id'];
      const id = typeof callerId === 'string' && CALLER_ID.test(callerId) ? callerId : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    autoLogging: logRequests,
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
}
