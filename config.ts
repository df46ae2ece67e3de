import { z } from 'zod';

/** Every setting Leadline reads from the environment, validated once at start. */
const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATABASE_URL: z.string().url().optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('leads'),
  /** Where "Open in Temporal UI" points. */
  TEMPORAL_UI_URL: z.string().url().default('http://localhost:8233'),
  /** Signs session tokens. A fixed development secret is used outside production. */
  JWT_SECRET: z.string().min(32).optional(),
  /** A prebuilt workflow bundle for the worker; without it the worker bundles the workflows at start. */
  WORKFLOW_BUNDLE: z.string().optional(),
  /** Origins (comma-separated) allowed to call the API from a browser; unset means no CORS headers at all. */
  CORS_ORIGINS: z
    .string()
    .optional()
    .transform((value) => value?.split(',').map((origin) => origin.trim()).filter(Boolean))
    .pipe(z.array(z.url().transform((url) => new URL(url).origin)).optional()),
  /** A bearer token that may read `/metrics` (for a Prometheus scraper); ops and admin sessions may read it too. */
  METRICS_TOKEN: z.string().min(16).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof configSchema> & { JWT_SECRET: string };

const DEVELOPMENT_JWT_SECRET = 'leadline-development-secret-not-for-production';

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const config = parsed.data;
  if (config.NODE_ENV === 'production' && !config.JWT_SECRET) {
    throw new Error('Invalid configuration: JWT_SECRET is required in production');
  }
  return { ...config, JWT_SECRET: config.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET };
}
