import { MikroORM } from '@mikro-orm/postgresql';
import { ormConfig } from '../mikro-orm.config.js';

export type { MikroORM };

/** One ORM per process: the API, the worker and the tests share this start-up. */
export async function initORM(databaseUrl: string): Promise<MikroORM> {
  return MikroORM.init(ormConfig(databaseUrl));
}

/** Applies the checked-in migrations that have not run yet; returns how many ran. */
export async function migrate(orm: MikroORM): Promise<number> {
  return (await orm.migrator.up()).length;
}
