/** `npm run migrate [-- --seed]`: applies pending migrations to DATABASE_URL, and the demo data if asked. */
import { readConfig } from '../config.js';
import { initORM, migrate } from '../db/orm.js';
import { DemoSeeder } from '../db/seeders/DemoSeeder.js';

const config = readConfig();
if (!config.DATABASE_URL) throw new Error('Set DATABASE_URL to the database to migrate');
const orm = await initORM(config.DATABASE_URL);
try {
  console.log(`applied ${await migrate(orm)} migration(s)`);
  if (process.argv.includes('--seed')) {
    await orm.seeder.seed(DemoSeeder);
    console.log('demo data in place');
  }
} finally {
  await orm.close();
}
