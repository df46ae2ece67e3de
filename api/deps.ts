import type { MikroORM } from '@mikro-orm/core';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { ProviderSettings } from '../messaging/settings.js';
import type { Sessions } from './auth.js';
import type { Metrics } from './metrics.js';

/** What the HTTP layer needs; tests build the same app around their own database and task queue. */
export interface AppDeps {
  orm: MikroORM;
  temporal: Client;
  config: Pick<Config, 'NODE_ENV' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE' | 'TEMPORAL_UI_URL' | 'JWT_SECRET' | 'CORS_ORIGINS' | 'METRICS_TOKEN'>;
  /** Failed sign-ins allowed per client IP and email in a window; the default is 10 per 15 minutes. */
  loginRateLimit?: { windowMs: number; max: number };
  /** Built web app to serve at `/`, if any. */
  webRoot?: string;
  /** Twilio and SendGrid for the webhooks and unsubscribe links; by default as configured in the environment. */
  providers?: ProviderSettings;
}

export interface RouteDeps extends AppDeps {
  sessions: Sessions;
  /** This app's own Prometheus registry and instruments. */
  metrics: Metrics;
}
