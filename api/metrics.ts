import { createHash, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Sessions } from './auth.js';
import { AppError } from './errors.js';

/**
 * One app's Prometheus registry and instruments. Each app gets its own (tests build several apps in
 * one process), so nothing is registered twice and no app reports another's requests.
 */
export function createMetrics(em: () => EntityManager) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'leadline_' });
  /** A gauge read from Postgres at scrape time, so every API replica reports the same truth. */
  const fromDatabase = (name: string, help: string, labelNames: string[], sql: string) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        const rows: Record<string, string>[] = await em().getConnection().execute(sql);
        for (const { value, ...labels } of rows) this.set(labels, Number(value));
      },
    });
  fromDatabase('leadline_leads', 'Leads by status', ['status'], `select status, count(*) as value from lead group by status`);
  fromDatabase('leadline_queued_leads', 'Leads waiting in a team queue for someone to take them', [], `select count(*) as value from lead where queued_at is not null`);
  fromDatabase('leadline_escalations', 'Escalation steps run, all time', [], `select count(*) as value from lead_event where type = 'escalated'`);
  fromDatabase('leadline_messages', 'Messages by channel, direction and status', ['channel', 'direction', 'status'], `select channel, direction, status, count(*) as value from message group by 1, 2, 3`);
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'leadline_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    leadsCreated: new Counter({
      name: 'leadline_leads_created_total',
      help: 'Leads created (not merged into an open duplicate)',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

const MOUNT = Symbol('route mount');
type Scoped = Request & { [MOUNT]?: string };

/**
 * Remembers where the router that is about to match sits (`/api`). Express puts `req.baseUrl` back
 * when an error leaves that router, but keeps `req.route`, so the pattern is rebuilt from both.
 */
export function routeMount(req: Request, _res: Response, next: NextFunction): void {
  (req as Scoped)[MOUNT] = req.baseUrl;
  next();
}

/**
 * The route pattern that answered (`/api/leads/:id`), never the raw URL, so ids do not become
 * labels. Requests no route answered (static files, 404s) share one label.
 */
function routeLabel(req: Request): string {
  const route = (req as { route?: { path: unknown } }).route;
  if (!route) return 'unmatched';
  const path = typeof route.path === 'string' ? route.path : String(route.path);
  return `${(req as Scoped)[MOUNT] ?? ''}${path}`;
}

/** Times every request; the first middleware, so the time includes everything after it. */
export function timeRequests(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    const stop = metrics.httpRequestDuration.startTimer();
    res.once('finish', () => stop({ method: req.method, route: routeLabel(req), status: String(res.statusCode) }));
    next();
  };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * `GET /metrics` in the Prometheus text format. Readable by an ops or admin session (CASL
 * `read Metrics`), or by a scraper presenting `Authorization: Bearer <METRICS_TOKEN>` when that is
 * configured. Never open to anyone: the numbers describe the business (leads, teams, traffic).
 */
export function metricsRoutes(metrics: Metrics, sessions: Sessions, em: () => EntityManager, metricsToken?: string): Router {
  const router = Router();
  router.get('/metrics', async (req, res) => {
    const header = req.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    const scraper = Boolean(metricsToken && bearer && timingSafeEqual(digest(bearer), digest(metricsToken)));
    if (!scraper) {
      const auth = await sessions.authenticate(req, em());
      if (!auth) throw new AppError(401, 'unauthenticated', 'Sign in, or present the metrics token');
      if (auth.ability.cannot('read', 'Metrics')) throw new AppError(403, 'forbidden', 'You may not read metrics');
    }
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  return router;
}
