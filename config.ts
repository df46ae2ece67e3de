import { z } from 'zod';

/** Every setting Leadline reads from the environment, validated once at start. */
const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATABASE_URL: z.string().url().optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('leads'),
  /**
   * TLS to Temporal (a cluster or Temporal Cloud), as file paths in PEM: a client certificate and key for
   * mTLS (they go together), the CA that signed the server's certificate when it is not a public one, and
   * the name to expect on it when that is not the address's host. An API key (Temporal Cloud) implies TLS.
   */
  TEMPORAL_TLS_CERT: z.string().optional(),
  TEMPORAL_TLS_KEY: z.string().optional(),
  TEMPORAL_TLS_CA: z.string().optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
  TEMPORAL_API_KEY: z.string().optional(),
  /** Where "Open in Temporal UI" points. */
  TEMPORAL_UI_URL: z.string().url().default('http://localhost:8233'),
  /** Signs session tokens. A fixed development secret is used outside production. */
  JWT_SECRET: z.string().min(32).optional(),
  /** A prebuilt workflow bundle for the worker; without it the worker bundles the workflows at start. */
  WORKFLOW_BUNDLE: z.string().optional(),
  /** Which build the worker tells Temporal it runs (see build.ts); by default `<version>+<git short commit>`. Temporal allows 255 characters. */
  LEADLINE_BUILD_ID: z.string().max(255).optional(),
  /** Origins (comma-separated) allowed to call the API from a browser; unset means no CORS headers at all. */
  CORS_ORIGINS: z
    .string()
    .optional()
    .transform((value) => value?.split(',').map((origin) => origin.trim()).filter(Boolean))
    .pipe(z.array(z.url().transform((url) => new URL(url).origin)).optional()),
  /** A bearer token that may read `/metrics` (for a Prometheus scraper); ops and admin sessions may read it too. */
  METRICS_TOKEN: z.string().min(16).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where the outside world reaches this service: Twilio signs webhooks for it, emails link to it. Defaults to http://localhost:PORT. */
  PUBLIC_URL: z.url().optional(),
  /** Twilio credentials and sender (a number in E.164 or a Messaging Service SID, MG…). Without them SMS run in sandbox mode. */
  TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be an Account SID (AC…)').optional(),
  TWILIO_AUTH_TOKEN: z.string().min(16).optional(),
  TWILIO_FROM: z.string().regex(/^(\+[1-9]\d{6,14}|MG[0-9a-fA-F]{32})$/, 'must be a number in E.164 or a Messaging Service SID').optional(),
  /** Replaces https://api.twilio.com (a local fake of its API in the chaos run; otherwise a proxy). */
  TWILIO_API_BASE_URL: z.url().optional(),
  /** SendGrid API key and verified sender. Without them email runs in sandbox mode. */
  SENDGRID_API_KEY: z.string().min(16).optional(),
  SENDGRID_FROM: z.email().optional(),
  SENDGRID_FROM_NAME: z.string().max(100).optional(),
  /** Replaces https://api.sendgrid.com, as TWILIO_API_BASE_URL does for Twilio. */
  SENDGRID_API_BASE_URL: z.url().optional(),
  /** The signed event webhook's verification key (Mail Settings → Event Webhook → Signature Verification). */
  SENDGRID_WEBHOOK_PUBLIC_KEY: z.string().min(40).optional(),
});

export type Config = z.infer<typeof configSchema> & { JWT_SECRET: string };

const DEVELOPMENT_JWT_SECRET = 'leadline-development-secret-not-for-production';

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means unset (docker-compose passes `${VAR:-}` through as "").
  const parsed = configSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const config = parsed.data;
  if (config.NODE_ENV === 'production' && !config.JWT_SECRET) {
    throw new Error('Invalid configuration: JWT_SECRET is required in production');
  }
  const twilio = [config.TWILIO_ACCOUNT_SID, config.TWILIO_AUTH_TOKEN, config.TWILIO_FROM];
  if (twilio.some(Boolean) && !twilio.every(Boolean)) {
    throw new Error('Invalid configuration: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM go together (none of them means sandbox SMS)');
  }
  if (Boolean(config.TEMPORAL_TLS_CERT) !== Boolean(config.TEMPORAL_TLS_KEY)) {
    throw new Error('Invalid configuration: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (the client certificate and its key)');
  }
  if (Boolean(config.SENDGRID_API_KEY) !== Boolean(config.SENDGRID_FROM)) {
    throw new Error('Invalid configuration: SENDGRID_API_KEY and SENDGRID_FROM go together (neither means sandbox email)');
  }
  return { ...config, JWT_SECRET: config.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET };
}
