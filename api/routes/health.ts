import { Router } from 'express';
import type { RouteDeps } from '../deps.js';

const withTimeout = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms))]);

export function healthRoutes({ orm, temporal }: RouteDeps): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  /** Ready when both stores of truth answer: Postgres for records, Temporal for clocks. */
  router.get('/readyz', async (_req, res) => {
    const check = async (probe: () => Promise<unknown>) => {
      try {
        await withTimeout(probe(), 2_000);
        return { ok: true };
      } catch (error) {
        return { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
    };
    const [postgres, temporalCheck] = await Promise.all([
      check(() => orm.em.fork().getConnection().execute('select 1')),
      check(() => temporal.connection.workflowService.getSystemInfo({})),
    ]);
    const ready = postgres.ok && temporalCheck.ok;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks: { postgres, temporal: temporalCheck } });
  });

  return router;
}
