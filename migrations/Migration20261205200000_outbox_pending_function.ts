import { Migration } from '@mikro-orm/migrations';

/**
 * `outbox_pending`: the outbox relay's read of the rows not yet handed to Redis (outbox.relay.ts
 * `dispatchPending`), walking `outbox_message_undispatched_index` in id order with a plain index
 * scan, never a bitmap scan. Marking a row dispatched leaves its old version's entry in that
 * partial index until a vacuum; a bitmap scan visits every such entry and its heap tuple on every
 * pass (no vacuum on the test cluster: 25 000–50 000 of them, 2–45 ms a pass, by the end of the
 * `register` and `report` benchmarks), while a plain index scan marks the dead entries as it goes
 * and skips them from then on. The planner picked the bitmap scan (a few rows estimated, then a
 * sort), so the function turns bitmap and sequential scans off for this one query; the plan is
 * kept per connection. Same rows, same order, same limit as the statement it replaces.
 */
export class Migration20261205200000_outbox_pending_function extends Migration {
  override name = 'Migration20261205200000_outbox_pending_function';

  override async up(): Promise<void> {
    await this.execute(`create or replace function outbox_pending(p_limit int)
  returns table (id bigint, queue text, job_name text, job_id text, payload jsonb, delay_ms int)
  language plpgsql stable
  set enable_bitmapscan = off set enable_seqscan = off set plan_cache_mode = force_generic_plan as $fn$
begin
  return query
    select m.id, m.queue::text, m.job_name::text, m.job_id::text, m.payload, m.delay_ms
      from outbox_message m where m.dispatched_at is null order by m.id limit p_limit;
end
$fn$`);
  }
}
