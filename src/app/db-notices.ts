import pg from 'pg';
import type { Orm } from './db.ts';
import type { Logger } from './logger.ts';
import { embeddedDatabase } from './pglite.ts';
import { onSocketClient } from './pglite-socket.ts';

/**
 * A `LISTEN` on one channel of the database, for a cache that must hear every committed change.
 * `onUp` is called once the LISTEN is in force (at start and after each reconnect), `onDown` as
 * soon as the connection is seen to be lost (then a notice may be missed: the cache must stop
 * answering until the next `onUp`), `onNotice` for each notice.
 *
 * - PostgreSQL: a connection of its own (`application_name` `dibao-listen:<channel>`, TCP
 *   keep-alive), reconnected after 0.1 s, doubling to 5 s. A connection that dies without a word
 *   (no reset, no error) is seen late, by the keep-alive: what a cache keeps must also age out
 *   on its own (principal-cache.ts: its max age).
 * - PGlite: the process's own backend (`PGlite.listen`, taken under the connection lock so it
 *   never lands inside an open transaction). Its connection never drops; but what a client of the
 *   socket (pglite-socket.ts: psql, the command line) commits sends its notices to that client,
 *   not to us: while such a client holds the connection the feed counts as down, and it is up
 *   again (`onUp`) once the client gives the connection back.
 */
export interface NoticeHandlers {
  onNotice(payload: string): void;
  onUp(): void;
  onDown(): void;
}

export interface NoticeFeed {
  /** Starts listening (once; later calls do nothing). */
  start(): void;
  /** True while the LISTEN is in force on a connection not known to be lost. */
  readonly listening: boolean;
  close(): Promise<void>;
}

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;

export function noticeFeed(opts: { orm: Orm; databaseUrl: string | undefined; channel: string; logger: Logger } & NoticeHandlers): NoticeFeed {
  if (!/^[a-z_][a-z0-9_]*$/.test(opts.channel)) throw new Error(`not a plain channel name: ${opts.channel}`);
  return opts.databaseUrl ? postgresFeed({ ...opts, databaseUrl: opts.databaseUrl }) : pgliteFeed(opts);
}

function postgresFeed(opts: { databaseUrl: string; channel: string; logger: Logger } & NoticeHandlers): NoticeFeed {
  const { channel, logger } = opts;
  let started = false;
  let closed = false;
  /** The client whose LISTEN is in force; undefined while down or connecting. */
  let current: pg.Client | undefined;
  let connecting: pg.Client | undefined;
  let retryMs = RETRY_FIRST_MS;
  let retryTimer: NodeJS.Timeout | undefined;
  let lostOnce = false;

  function lost(client: pg.Client, err?: Error) {
    if (client === current) {
      current = undefined;
      opts.onDown();
      lostOnce = true;
      logger.warn({ channel, err: err?.message }, '数据库通知连接中断，缓存暂停 / database notice connection lost: the cache is off until it is back');
      client.end().catch(() => undefined);
      schedule();
    }
  }

  function schedule() {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, retryMs);
    retryTimer.unref();
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
  }

  async function connect() {
    if (closed || current || connecting) return;
    const client = new pg.Client({
      connectionString: opts.databaseUrl,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: `dibao-listen:${channel}`,
    });
    connecting = client;
    client.on('notification', (m) => {
      if (client === current && m.channel === channel) opts.onNotice(m.payload ?? '');
    });
    client.on('error', (err) => lost(client, err));
    client.on('end', () => lost(client));
    try {
      await client.connect();
      await client.query(`listen ${channel}`);
      connecting = undefined;
      if (closed) {
        await client.end().catch(() => undefined);
        return;
      }
      current = client;
      retryMs = RETRY_FIRST_MS;
      opts.onUp();
      if (lostOnce) logger.info({ channel }, '数据库通知连接已恢复 / database notice connection back');
    } catch (err) {
      connecting = undefined;
      client.end().catch(() => undefined);
      if (closed) return;
      logger.warn({ channel, err: (err as Error).message }, '数据库通知连接失败，稍后重试 / could not listen for database notices: retrying');
      schedule();
    }
  }

  return {
    start() {
      if (started || closed) return;
      started = true;
      void connect();
    },
    get listening() {
      return current !== undefined;
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      const client = current ?? connecting;
      if (current) {
        current = undefined;
        opts.onDown();
      }
      await client?.end().catch(() => undefined);
    },
  };
}

function pgliteFeed(opts: { orm: Orm; channel: string; logger: Logger } & NoticeHandlers): NoticeFeed {
  let started = false;
  let closed = false;
  let listening = false;
  /** A client of the socket holds the connection: what it commits is not heard here. */
  let socketBusy = false;
  let stopSocketHooks: (() => void) | undefined;
  const up = () => listening && !socketBusy && !closed;
  async function listen() {
    const embedded = await embeddedDatabase(opts.orm);
    if (!embedded) throw new Error('no embedded database behind this ORM');
    const release = await embedded.lock.acquire();
    try {
      if (closed) return;
      await embedded.pglite.listen(opts.channel, (payload) => {
        if (up()) opts.onNotice(payload);
      });
      stopSocketHooks = onSocketClient(embedded.pglite, {
        busy() {
          const was = up();
          socketBusy = true;
          if (was) opts.onDown();
        },
        idle() {
          socketBusy = false;
          if (up()) opts.onUp();
        },
      });
      listening = true;
      opts.onUp();
    } finally {
      release();
    }
  }
  return {
    start() {
      if (started || closed) return;
      started = true;
      listen().catch((err: Error) => opts.logger.warn({ channel: opts.channel, err: err.message }, '无法监听数据库通知，缓存不启用 / could not listen for database notices: the cache stays off'));
    },
    get listening() {
      return up();
    },
    async close() {
      const was = up();
      closed = true;
      stopSocketHooks?.();
      if (was) opts.onDown();
    },
  };
}
