/** Checks around a measured run: one request before it, and the relay's backlog after it. */
import { sql } from '../../src/app/db.ts';
import type { LoadSpec } from './load.ts';
import type { startFullApp } from './setup.ts';

/** One request before the load: a broken endpoint is a harness failure, not a slow result. */
export async function preflight(spec: Pick<LoadSpec, 'url' | 'method' | 'headers' | 'body' | 'expectStatus'>) {
  const res = await fetch(spec.url, { method: spec.method, headers: spec.headers, body: spec.body });
  const text = await res.text();
  if (res.status !== spec.expectStatus) throw new Error(`preflight ${spec.url} answered ${res.status}: ${text.slice(0, 500)}`);
  return text;
}

/**
 * The relay shares the app's event loop, so under load it may fall behind: the jobs wait in the
 * outbox and their cost is paid after the window. Report the backlog and how long it takes to clear.
 */
export async function drainOutbox(app: Awaited<ReturnType<typeof startFullApp>>, signal: AbortSignal, timeoutMs = 60_000) {
  const pending = async () =>
    (await sql<{ n: number }>(app.deps.orm.em.fork(), 'select count(*)::int as n from outbox_message where dispatched_at is null'))[0]?.n ?? 0;
  const started = performance.now();
  const outboxPendingAfterLoad = await pending();
  for (let left = outboxPendingAfterLoad; left > 0; left = await pending()) {
    signal.throwIfAborted();
    if (performance.now() - started > timeoutMs) return { outboxPendingAfterLoad, outboxDrainMs: null, outboxStillPending: left };
    app.deps.relay.kick(); // The poll timer is not started (as in tests), so nudge it.
    await new Promise((r) => setTimeout(r, 50));
  }
  return { outboxPendingAfterLoad, outboxDrainMs: Math.round(performance.now() - started) };
}
