import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketHandler } from '@electric-sql/pglite-socket';
import type { ConnectionLock } from './pglite.ts';

/** How long a client of the socket waits for the connection before it is disconnected. */
const CLIENT_WAIT_MS = 60_000;

const SYNC = 0x53; // 'S': ends an extended-protocol exchange
const QUERY = 0x51; // 'Q': a simple query, a whole exchange by itself
const STARTUP = 0x00; // the startup packet has no type byte; its length starts with 0
const TERMINATE = 0x58; // 'X'

export interface SocketClientHooks {
  /** A client of the socket has taken the connection (before its first message runs). */
  busy(): void;
  /** It has given it back, outside a transaction: what it committed is visible to the next query. */
  idle(): void;
}
const clientHookSets = new WeakMap<PGlite, Set<SocketClientHooks>>();

/**
 * Calls `hooks.busy` when a client of the socket takes the database's one connection and
 * `hooks.idle` when it gives it back. Its NOTIFYs go to that client (raw protocol), not to this
 * process's `PGlite.listen` callbacks, so a listener of this process hears nothing it commits: it
 * counts as down from `busy` to `idle` (db-notices.ts). Returns the function that removes the hooks.
 */
export function onSocketClient(pglite: PGlite, hooks: SocketClientHooks): () => void {
  let set = clientHookSets.get(pglite);
  if (!set) clientHookSets.set(pglite, (set = new Set()));
  set.add(hooks);
  return () => set.delete(hooks);
}

function clientHooks(pglite: PGlite, event: keyof SocketClientHooks) {
  const set = clientHookSets.get(pglite);
  if (!set) return;
  for (const hooks of set) {
    try {
      hooks[event]();
    } catch {
      // A hook's failure must not keep the connection from being given back.
    }
  }
}

/**
 * The queue pglite-socket's handler hands each protocol message to. pglite-socket's own queue
 * serialises messages, but not against queries of this process, so a socket client's statements
 * could land inside a transaction of the app (PGlite is one session). Here a client takes the
 * process's ConnectionLock with its first message and keeps it until an exchange ends outside a
 * transaction: its own transaction, and each Parse…Sync, run alone, as on a connection of its own.
 */
class SessionQueue {
  #owner: number | null = null;
  #release: (() => void) | null = null;
  readonly #tails = new Map<number, Promise<unknown>>();
  readonly #gone = new Set<number>();
  readonly #pglite: PGlite;
  readonly #lock: ConnectionLock;

  constructor(pglite: PGlite, lock: ConnectionLock) {
    this.#pglite = pglite;
    this.#lock = lock;
  }

  /** Messages of one client run in the order they came (the handler may read two chunks at once). */
  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<unknown> {
    const run = (this.#tails.get(handlerId) ?? Promise.resolve()).catch(() => undefined).then(() => this.#run(handlerId, message, onData));
    this.#tails.set(handlerId, run);
    return run;
  }

  async #run(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void) {
    if (this.#gone.has(handlerId)) throw new Error('client disconnected');
    if (this.#owner !== handlerId) {
      const release = await this.#lock.acquire(CLIENT_WAIT_MS);
      if (this.#gone.has(handlerId)) {
        release();
        throw new Error('client disconnected');
      }
      this.#owner = handlerId;
      this.#release = release;
      clientHooks(this.#pglite, 'busy');
    }
    try {
      await this.#pglite.runExclusive(() => this.#pglite.execProtocolRawStream(message, { onRawData: onData }));
    } finally {
      const kind = message[0];
      const endsExchange = kind === SYNC || kind === QUERY || kind === STARTUP || kind === TERMINATE;
      if ((endsExchange || this.#gone.has(handlerId)) && !this.#pglite.isInTransaction()) this.#free(handlerId);
    }
  }

  #free(handlerId: number) {
    if (this.#owner !== handlerId) return;
    const release = this.#release;
    this.#owner = null;
    this.#release = null;
    clientHooks(this.#pglite, 'idle');
    release?.();
  }

  clearQueueForHandler(handlerId: number) {
    this.#gone.add(handlerId);
  }

  /** A client that went away inside its transaction: roll it back and give the connection back. */
  async clearTransactionIfNeeded(handlerId: number) {
    await this.#tails.get(handlerId)?.catch(() => undefined);
    this.#tails.delete(handlerId);
    if (this.#owner === handlerId) {
      if (this.#pglite.isInTransaction()) await this.#pglite.exec('ROLLBACK').catch(() => undefined);
      this.#free(handlerId);
    }
    this.#gone.delete(handlerId);
  }
}

export interface PgliteSocket {
  /** A DATABASE_URL that reaches this database (a Unix socket, so only this user can connect). */
  url: string;
  close(): Promise<void>;
}

/** The socket's folder for a PGlite data folder: DATA_DIR/run (PostgreSQL's own name for it inside). */
export function socketDir(dataDir: string): string {
  return resolve(join(dataDir, 'run'));
}

/** The DATABASE_URL of the socket in `dir`: `pg` reads a host that is a path as a Unix socket folder. */
export function socketUrl(dir: string): string {
  return `postgresql://postgres@${encodeURIComponent(dir)}/postgres`;
}

/**
 * Serves the process's PGlite over the PostgreSQL wire protocol (pglite-socket's protocol handler)
 * on a Unix socket in `dir` (mode 0700): for tests with their own `pg` client and for the command
 * line (verify-ledger, seed, migrate) while `npm start` runs. The caller must hold the folder lock
 * (folder-lock.ts), so a socket file left there is stale.
 */
export async function servePgliteSocket(pglite: PGlite, lock: ConnectionLock, dir: string): Promise<PgliteSocket> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const path = join(dir, '.s.PGSQL.5432');
  rmSync(path, { force: true });
  await pglite.waitReady;
  const queue = new SessionQueue(pglite, lock);
  const handlers = new Set<PGLiteSocketHandler>();
  const server: Server = createServer((socket) => {
    // The handler's type names pglite-socket's own queue class; ours has the same three methods.
    const handler = new PGLiteSocketHandler({ queryQueue: queue as never, closeOnDetach: true });
    handlers.add(handler);
    handler.addEventListener('close', () => handlers.delete(handler));
    handler.addEventListener('error', () => handlers.delete(handler));
    handler.attach(socket).catch(() => socket.destroy());
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(path, () => ok());
  });
  return {
    url: socketUrl(dir),
    async close() {
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      await Promise.all([...handlers].map((h) => h.detach(true)));
      await closed;
      rmSync(path, { force: true });
    },
  };
}
