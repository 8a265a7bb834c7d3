import { join } from 'node:path';
import type { Config } from './config.ts';
import type { Orm } from './db.ts';
import { lockFolder } from './folder-lock.ts';
import { embeddedDatabase } from './pglite.ts';
import { servePgliteSocket, socketDir, socketUrl } from './pglite-socket.ts';

/** The process-level side of embedded PGlite (no DATABASE_URL): one process per folder, a socket for the others. */

export class FolderInUse extends Error {}

export interface DatabaseClaim {
  /** The configuration to open the database with: unchanged, or DATABASE_URL set to the running instance's socket. */
  config: Config;
  /** Said once to the user when this process talks to a running instance instead of opening the folder. */
  note?: string;
  release: () => Promise<void>;
}

/**
 * Before the database is opened. On PGlite this process takes the folder's lock; if another process
 * holds it, a command (`mayJoin`: migrate, verify-ledger, seed) talks to that running instance over
 * its socket, and a server role is refused at once with a message saying what to do.
 */
export async function claimDatabase(config: Config, opts: { mayJoin: boolean }): Promise<DatabaseClaim> {
  if (config.DATABASE_URL) return { config, release: async () => {} };
  const folder = join(config.DATA_DIR, 'pglite');
  const lock = await lockFolder(folder);
  if (lock.held) return { config, release: lock.release };
  const zh = lock.ownerPid ? `进程 ${lock.ownerPid}` : '另一进程';
  const en = lock.ownerPid ? `process ${lock.ownerPid}` : 'another process';
  if (opts.mayJoin) {
    return {
      config: { ...config, DATABASE_URL: socketUrl(socketDir(config.DATA_DIR)), DATABASE_POOL_MAX: 1 },
      note: `嵌入式数据库 ${folder} 正由${zh}使用，本命令经其套接字执行 / the embedded database ${folder} is in use by ${en}: this command runs through its socket`,
      release: async () => {},
    };
  }
  throw new FolderInUse(
    `嵌入式数据库 ${folder} 正由${zh}使用；请先停止它，或设置另一个 DATA_DIR / ` +
      `the embedded database ${folder} is in use by ${en}: stop it first, or use another DATA_DIR ` +
      '(npm run migrate, verify-ledger and seed run against the running instance)',
  );
}

/** On PGlite, serves the database on DATA_DIR/run for the command line while this process runs; a no-op on PostgreSQL. */
export async function serveEmbeddedSocket(orm: Orm, dataDir: string): Promise<() => Promise<void>> {
  const embedded = await embeddedDatabase(orm);
  if (!embedded) return async () => {};
  const socket = await servePgliteSocket(embedded.pglite, embedded.lock, socketDir(dataDir));
  return () => socket.close();
}
