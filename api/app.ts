import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RequestContext } from '@mikro-orm/core';
import cookieParser from 'cookie-parser';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { createSessions, sessionMiddleware } from './auth.js';
import type { AppDeps, RouteDeps } from './deps.js';
import { AppError, errorHandler } from './errors.js';
import { corsFor, defaultLoginRateLimit, jsonBodiesOnly, loginRateLimit } from './guards.js';
import { createMetrics, metricsRoutes, routeMount, timeRequests } from './metrics.js';
import { requestContext } from '../requestContext.js';
import { requestLog } from './requestLog.js';
import { authRoutes } from './routes/auth.js';
import { docsRoutes } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { leadRoutes } from './routes/leads.js';
import { intakeRoutes } from './routes/intake.js';
import { policyRoutes } from './routes/policies.js';
import { statsRoutes } from './routes/stats.js';
import { systemRoutes } from './routes/system.js';
import { taskRoutes } from './routes/tasks.js';
import { teamRoutes } from './routes/teams.js';
import { userRoutes } from './routes/users.js';
import { webhookRoutes } from './routes/webhooks.js';

/** The HTTP app around its dependencies; `npm start`, `api/server.ts` and the tests all build it here. */
export function createApp(deps: AppDeps): Express {
  const metrics = createMetrics(() => deps.orm.em.fork());
  const routeDeps: RouteDeps = { ...deps, sessions: createSessions(deps.config.JWT_SECRET), metrics };
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestLog(deps.config.NODE_ENV !== 'test'));
  // Whatever this request starts or signals in Temporal carries its id (see requestContext.ts).
  app.use((req, _res, next) => requestContext.run({ requestId: String(req.id) }, next));
  app.use(timeRequests(metrics));
  app.use(helmet());
  app.use(webhookRoutes(deps));
  app.use(express.json({ limit: '100kb' }));
  app.use(cookieParser());
  // One EntityManager fork per request, so requests never share an identity map.
  app.use((_req, _res, next) => RequestContext.create(deps.orm.em, next));

  app.use(healthRoutes(routeDeps));
  app.use(metricsRoutes(metrics, routeDeps.sessions, () => deps.orm.em, deps.config.METRICS_TOKEN));
  if (deps.config.CORS_ORIGINS?.length) app.use('/api', corsFor(deps.config.CORS_ORIGINS));
  const api = express.Router();
  api.use(routeMount);
  api.use(jsonBodiesOnly);
  api.use('/auth/login', loginRateLimit(deps.loginRateLimit ?? defaultLoginRateLimit));
  api.use(docsRoutes());
  api.use(sessionMiddleware(routeDeps.sessions, () => deps.orm.em));
  api.use(authRoutes(routeDeps));
  api.use(leadRoutes(routeDeps));
  api.use(policyRoutes(routeDeps));
  api.use(statsRoutes(routeDeps));
  api.use(systemRoutes(routeDeps));
  api.use(userRoutes(routeDeps));
  api.use(teamRoutes(routeDeps));
  api.use(taskRoutes(routeDeps));
  api.use(intakeRoutes(routeDeps));
  api.use((req) => {
    throw new AppError(404, 'not_found', `No route ${req.method} ${req.baseUrl}${req.path}`);
  });
  app.use('/api', api);

  if (deps.webRoot && existsSync(join(deps.webRoot, 'index.html'))) {
    const webRoot = deps.webRoot;
    app.use(express.static(webRoot, { index: false, maxAge: '1h' }));
    // Client-side routes: every other GET gets the app shell.
    app.get(/^(?!\/api\/).*/, (_req, res) => res.sendFile(join(webRoot, 'index.html')));
  }

  app.use(errorHandler);
  return app;
}
