import type { PGlite } from '@electric-sql/pglite';
import { type Configuration, type MikroORM, TransactionContext } from '@mikro-orm/core';
import { PgliteConnection, PgliteDriver } from '@mikro-orm/pglite';
import { type MutexInterface, Mutex, withTimeout } from 'async-mutex';
import type { DatabaseConnection, Dialect, Driver, TransactionSettings } from 'kysely';

/**
 * PGlite is one PostgreSQL backend: one connection for the whole process. Whoever holds it (a
 * query, a transaction, a client of the socket in pglite-socket.ts) holds this lock; everyone else
 * waits for it, but never longer than DATABASE_ACQUIRE_TIMEOUT_MS: then they fail with
 * ConnectionWaitTimeout, which the HTTP layer answers with the coded 503 `service.busy`, as a full
 * pool does on PostgreSQL. So a code path that waits for a second connection while holding the
 * first (a deadlock on PGlite) costs one failed request, not a frozen process.
 */
export const CONNECTION_WAIT_TIMEOUT = 'CONNECTION_WAIT_TIMEOUT';

export class ConnectionWaitTimeout extends Error {
  /** An own property: MikroORM's DriverException copies own properties (not the class) of what it wraps. */
  readonly code = CONNECTION_WAIT_TIMEOUT;
  constructor(ms: number | 'own-transaction') {
    super(
      ms === 'own-transaction'
        ? 'a query outside the open transaction would wait for the connection that transaction holds (PGlite has one): pass the transaction\'s EntityManager down'
        : `no database connection within ${ms} ms (PGlite has one connection and it stayed busy)`,
    );
    this.name = 'ConnectionWaitTimeout';
  }
}

export class ConnectionLock {
  readonly #mutex = new Mutex();
  readonly #timed: MutexInterface;
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
    // async-mutex: a waiter that gives up is dropped; the lock stays first come, first served.
    this.#timed = withTimeout(this.#mutex, timeoutMs, new ConnectionWaitTimeout(timeoutMs));
  }
  /** Waits for the connection at most `timeoutMs` (or the given time); resolves to the release function. */
  acquire(ms = this.timeoutMs): Promise<() => void> {
    const timed = ms === this.timeoutMs ? this.#timed : withTimeout(this.#mutex, ms, new ConnectionWaitTimeout(ms));
    // A fresh error per waiter, so its stack says who waited.
    return timed.acquire().catch((err: unknown) => {
      throw err instanceof ConnectionWaitTimeout ? new ConnectionWaitTimeout(ms) : err;
    });
  }
  get busy(): boolean {
    return this.#mutex.isLocked();
  }
}

/**
 * Kysely's PGlite dialect with the connection behind a ConnectionLock instead of Kysely's own
 * mutex (which waits forever). The adapter claims several connections only so that Kysely does not
 * add its mutex on top; there is still one, handed out under the lock.
 */
function lockedDialect(inner: Dialect, lock: ConnectionLock, insideOwnTransaction: () => boolean): Dialect {
  return {
    createAdapter: () => Object.create(inner.createAdapter(), { supportsMultipleConnections: { value: true } }),
    createDriver: () => lockedDriver(inner.createDriver(), lock, insideOwnTransaction),
    createIntrospector: (db) => inner.createIntrospector(db),
    createQueryCompiler: () => inner.createQueryCompiler(),
  };
}

function lockedDriver(inner: Driver, lock: ConnectionLock, insideOwnTransaction: () => boolean): Driver {
  let release: (() => void) | undefined;
  return {
    init: () => inner.init(),
    async acquireConnection() {
      // Code running inside a transaction's callback that asks for another connection waits for
      // the one it holds itself: fail at once (a 503 and the message say where) rather than stall
      // every request for DATABASE_ACQUIRE_TIMEOUT_MS. (A nested `fork().transactional()` is not
      // seen here, as MikroORM's context then names the new fork; the timeout still ends it.)
      if (lock.busy && insideOwnTransaction()) throw new ConnectionWaitTimeout('own-transaction');
      const free = await lock.acquire();
      try {
        const connection = await inner.acquireConnection();
        release = free;
        return connection;
      } catch (err) {
        free();
        throw err;
      }
    },
    async releaseConnection(connection: DatabaseConnection) {
      try {
        await inner.releaseConnection(connection);
      } finally {
        const free = release;
        release = undefined;
        free?.();
      }
    },
    beginTransaction: (c: DatabaseConnection, s: TransactionSettings) => inner.beginTransaction(c, s),
    commitTransaction: (c: DatabaseConnection) => inner.commitTransaction(c),
    rollbackTransaction: (c: DatabaseConnection) => inner.rollbackTransaction(c),
    savepoint: inner.savepoint?.bind(inner),
    rollbackToSavepoint: inner.rollbackToSavepoint?.bind(inner),
    releaseSavepoint: inner.releaseSavepoint?.bind(inner),
    destroy: () => inner.destroy(),
  };
}

/** MikroORM's PGlite connection, its Kysely dialect behind the lock. */
export class LockedPgliteConnection extends PgliteConnection {
  lock = new ConnectionLock(10_000);
  override createKyselyDialect(overrides: Parameters<PgliteConnection['createKyselyDialect']>[0]) {
    // Typed as the base class's PGliteDialect; callers only use it as a Kysely Dialect.
    const inside = () => {
      // MikroORM runs a transaction's callback in an async context naming its EntityManager.
      const em = TransactionContext.getEntityManager(this.config.get('contextName'));
      return !!em && em.getConnection() === this && em.isInTransaction();
    };
    return lockedDialect(super.createKyselyDialect(overrides), this.lock, inside) as ReturnType<PgliteConnection['createKyselyDialect']>;
  }
}

/** MikroORM's PGlite driver using LockedPgliteConnection; `timeoutMs` is DATABASE_ACQUIRE_TIMEOUT_MS. */
export function lockedPgliteDriver(timeoutMs: number) {
  return class LockedPgliteDriver extends PgliteDriver {
    constructor(config: Configuration) {
      super(config);
      // The base class builds its connection from a fixed class; swap in ours before anything connects.
      const connection = new LockedPgliteConnection(this.config);
      connection.lock = new ConnectionLock(timeoutMs);
      (this as unknown as { connection: PgliteConnection }).connection = connection;
    }
  };
}

/** The embedded database behind an ORM (its PGlite instance and connection lock); undefined on PostgreSQL. */
export async function embeddedDatabase(orm: MikroORM): Promise<{ pglite: PGlite; lock: ConnectionLock } | undefined> {
  const connection = orm.em.getConnection();
  if (!(connection instanceof LockedPgliteConnection)) return undefined;
  return { pglite: (await connection.getNativeClient()) as PGlite, lock: connection.lock };
}
