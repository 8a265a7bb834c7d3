/**
 * The floor to compare the app against: the same HTTP stack (Hono on @hono/node-server) and the
 * same database, but per request only a JSON parse and ONE plain INSERT through a bare `pg` pool.
 * No ORM, validation, auth, crypto, transaction or outbox.
 */
import { Hono } from 'hono';
import pg from 'pg';
import { type BenchDatabase, listen } from './setup.ts';

export async function startBaseline(db: BenchDatabase) {
  // Same size as the app's pool (DATABASE_POOL_MAX 20 in setup.ts).
  const pool = new pg.Pool({ connectionString: db.url, max: 20 });
  await pool.query(`create table if not exists bench_baseline (
    id bigserial primary key,
    channel text not null,
    narrative text not null,
    created_at timestamptz not null default now()
  )`);

  const app = new Hono();
  // Failures are counted by the load generator; logging each one would only slow the run.
  app.onError((_err, c) => c.json({ error: 'internal' }, 500));
  app.post('/baseline', async (c) => {
    const body = await c.req.json<{ channel: string; narrative: string }>();
    const { rows } = await pool.query<{ id: string }>('insert into bench_baseline (channel, narrative) values ($1, $2) returning id', [
      body.channel,
      body.narrative,
    ]);
    return c.json({ id: rows[0]!.id }, 201);
  });

  const server = await listen(app.fetch);
  return {
    url: `${server.url}/baseline`,
    async close() {
      await server.close();
      await pool.end();
    },
  };
}
