import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { databaseUrl, ensureDatabase } from '../db/databases.js';
import { initORM, type MikroORM } from '../db/orm.js';
import { testServices } from './services.js';

let orm: MikroORM;
let admin: pg.Client;

beforeAll(async () => {
  const { postgresUrl, templateDatabase } = testServices();
  const name = `orm_${randomUUID().replace(/-/g, '')}`;
  await ensureDatabase(postgresUrl, name, templateDatabase);
  orm = await initORM(databaseUrl(postgresUrl, name));
  admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await orm?.close();
});

describe('a transaction whose connection the database drops', () => {
  it('gives the connection back to the pool, so Postgres restarts cannot starve the process', async () => {
    // Found by the chaos run: every transaction open when Postgres restarted kept its pool slot for good.
    const pool = await orm.em.getConnection().getNativeClient();
    for (let i = 0; i < 3; i++) {
      const dropped = orm.em.fork().transactional(async (em) => {
        const [row] = await em.execute<{ pid: number }[]>('select pg_backend_pid() as pid');
        await admin.query('select pg_terminate_backend($1)', [row!.pid]);
        await em.execute('select 1');
      });
      await expect(dropped).rejects.toThrow();
    }
    expect(pool.totalCount - pool.idleCount).toBe(0);
    expect(await orm.em.fork().execute('select 1 as ok')).toEqual([{ ok: 1 }]);
  });
});

describe('the migrations', () => {
  it('build exactly the schema the entities describe', async () => {
    expect((await orm.schema.getUpdateSchemaSQL({ wrap: false })).trim()).toBe('');
  });
});
