import type { MikroORM } from '@mikro-orm/core';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { Sessions } from './auth.js';

/** What the HTTP layer needs; tests build the same app around their own database and task queue. */
export interface AppDeps {
  orm: MikroORM;
  temporal: Client;
  config: Pick<Config, 'NODE_ENV' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE' | 'TEMPORAL_UI_URL' | 'JWT_SECRET'>;
  /** Built web app to serve at `/`, if any. */
  webRoot?: string;
}

export interface RouteDeps extends AppDeps {
  sessions: Sessions;
}
