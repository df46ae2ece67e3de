import type { Configuration } from '@mikro-orm/core';
import { PostgreSqlConnection, PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { DatabaseConnection, Driver, PostgresDialect } from 'kysely';

/**
 * kysely 0.29 (kysely-org/kysely#1990) gives a transaction's pooled connection back only when its
 * `begin`, `commit` or `rollback` succeeds. On a connection the server has dropped (a Postgres
 * restart) they fail, so each transaction in flight at that moment kept its connection for good:
 * a process lost a pool slot per such transaction until none were left and every query waited forever.
 * Here a failed `begin` or `rollback` releases the connection, which `pg` then drops from the pool. A
 * failed commit is always followed by MikroORM's rollback, which either succeeds (kysely releases) or
 * fails (released here). MikroORM only uses kysely's controlled transactions, the path this is for.
 */
function releaseOnFailedTransaction(driver: Driver): Driver {
  const begin = driver.beginTransaction.bind(driver);
  const rollback = driver.rollbackTransaction.bind(driver);
  const releaseAndThrow = async (connection: DatabaseConnection, error: unknown): Promise<never> => {
    await driver.releaseConnection(connection);
    throw error;
  };
  driver.beginTransaction = (connection, settings) => begin(connection, settings).catch((error: unknown) => releaseAndThrow(connection, error));
  driver.rollbackTransaction = (connection) => rollback(connection).catch((error: unknown) => releaseAndThrow(connection, error));
  return driver;
}

class RestartSafeConnection extends PostgreSqlConnection {
  override createKyselyDialect(overrides: Parameters<PostgreSqlConnection['createKyselyDialect']>[0]): PostgresDialect {
    const dialect = super.createKyselyDialect(overrides);
    const createDriver = dialect.createDriver.bind(dialect);
    dialect.createDriver = () => releaseOnFailedTransaction(createDriver());
    return dialect;
  }
}

/** MikroORM's PostgreSQL driver on a connection that survives the database restarting under it (see above). */
export class RestartSafePostgreSqlDriver extends PostgreSqlDriver {
  constructor(config: Configuration) {
    super(config);
    // AbstractSqlDriver builds its connection from the class PostgreSqlDriver passes it; this swaps in ours.
    (this as unknown as { connection: PostgreSqlConnection }).connection = new RestartSafeConnection(this.config);
  }
}
