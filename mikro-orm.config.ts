import { join } from 'node:path';
import { defineConfig } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { SeedManager } from '@mikro-orm/seeder';
import { RestartSafePostgreSqlDriver } from './db/driver.js';
import { entities } from './db/entities.js';

const here = import.meta.dirname;

export function ormConfig(clientUrl: string) {
  return defineConfig({
    clientUrl,
    driver: RestartSafePostgreSqlDriver,
    entities,
    extensions: [Migrator, SeedManager],
    migrations: {
      path: join(here, 'db/migrations'),
      glob: '!(*.d).{js,ts}',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    seeder: { path: join(here, 'db/seeders'), defaultSeeder: 'DemoSeeder' },
    pool: { min: 0, max: 10 },
    // Entities are registered above; no folder scanning at start.
    discovery: { warnWhenNoEntities: true },
  });
}

export default ormConfig(process.env.DATABASE_URL ?? 'postgres://postgres:leadline@127.0.0.1:5432/leadline');
