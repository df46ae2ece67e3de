import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RequestContext } from '@mikro-orm/core';
import cookieParser from 'cookie-parser';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { createSessions, sessionMiddleware } from './auth.js';
import type { AppDeps, RouteDeps } from './deps.js';
import { AppError, errorHandler } from './errors.js';
import { authRoutes } from './routes/auth.js';
import { healthRoutes } from './routes/health.js';
import { leadRoutes } from './routes/leads.js';
import { intakeRoutes } from './routes/intake.js';
import { policyRoutes } from './routes/policies.js';
import { statsRoutes } from './routes/stats.js';

/** The HTTP app around its dependencies; `npm start`, `api/server.ts` and the tests all build it here. */
export function createApp(deps: AppDeps): Express {
  const routeDeps: RouteDeps = { ...deps, sessions: createSessions(deps.config.JWT_SECRET) };
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(helmet());
  app.use(express.json({ limit: '100kb' }));
  app.use(cookieParser());
  // One EntityManager fork per request, so requests never share an identity map.
  app.use((_req, _res, next) => RequestContext.create(deps.orm.em, next));

  app.use(healthRoutes(routeDeps));
  const api = express.Router();
  api.use(sessionMiddleware(routeDeps.sessions, () => deps.orm.em));
  api.use(authRoutes(routeDeps));
  api.use(leadRoutes(routeDeps));
  api.use(policyRoutes(routeDeps));
  api.use(statsRoutes(routeDeps));
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
