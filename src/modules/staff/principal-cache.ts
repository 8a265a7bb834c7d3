import type { Principal } from './access.ts';

/** The channel the staff triggers notify on (migration `staff_principal_notices`). */
export const STAFF_PRINCIPAL_CHANNEL = 'staff_principal';

export interface CachedPrincipal {
  principal: Readonly<Principal>;
  /** The session's `expires_at` (ms). */
  expiresAt: number;
  /** Its `last_seen_at` as the database had it after this read (ms). */
  lastSeenAt: number;
}

interface Entry extends CachedPrincipal {
  /** When it was read (monotonic ms, `performance.now()`). */
  readAt: number;
}

/**
 * The principals of recently used staff tokens, keyed by the token's hash, in this process (staff.usecases.ts
 * `authenticate`). It answers only while the database's notices are heard (`up`, from db-notices.ts):
 * every change that could end or alter a principal notifies from inside its transaction (migration
 * `staff_principal_notices`), and any notice empties the cache. While the notice connection is down or
 * reconnecting it answers nothing (every request reads the database), and it starts empty when the
 * connection is (re)made, so a missed notice cannot keep a revoked session alive. An entry also ends
 * `maxAgeMs` after it was read, whatever the notices say.
 *
 * A read that was under way when a notice came (or the cache went down) is not kept: `ticket()` before
 * the read, `put(…, ticket)` after it stores nothing unless no notice came in between.
 */
export function createPrincipalCache(opts: { maxAgeMs: number; maxEntries?: number; onFirstUse?: () => void }) {
  const { maxAgeMs, maxEntries = 10_000 } = opts;
  const entries = new Map<string, Entry>();
  let on = false;
  let generation = 0;
  let used = false;
  const stats = { hits: 0, misses: 0, flushes: 0 };

  function forget() {
    entries.clear();
    generation++;
    stats.flushes++;
  }

  return {
    /** A fresh entry for the token hash, or undefined (none, too old, or the cache is off). */
    get(key: string): CachedPrincipal | undefined {
      if (!used) {
        used = true;
        opts.onFirstUse?.();
      }
      if (!on) return undefined;
      const entry = entries.get(key);
      if (entry && performance.now() - entry.readAt < maxAgeMs) {
        stats.hits++;
        return entry;
      }
      if (entry) entries.delete(key);
      stats.misses++;
      return undefined;
    },
    /** Taken before a database read whose result may be `put`. */
    ticket(): number {
      return generation;
    },
    /** Keeps what a read found, unless a notice came (or the cache went down) since its `ticket()`. */
    put(key: string, value: CachedPrincipal, ticket: number) {
      if (!on || ticket !== generation) return;
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(key, { principal: Object.freeze({ ...value.principal }), expiresAt: value.expiresAt, lastSeenAt: value.lastSeenAt, readAt: performance.now() });
    },
    /** A notice, or a change this process has just committed: every entry goes. */
    forget,
    /** The notices are heard from now on: start empty, then answer. */
    up() {
      forget();
      on = true;
    },
    /** The notice connection is lost: answer nothing. */
    down() {
      on = false;
      forget();
    },
    get on() {
      return on;
    },
    get size() {
      return entries.size;
    },
    stats,
  };
}

export type PrincipalCache = ReturnType<typeof createPrincipalCache>;
