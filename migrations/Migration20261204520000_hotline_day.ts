import { Migration } from '@mikro-orm/migrations';

/**
 * The hotline figures' daily roll-up (bench/README "staff-reads": the figures for a year counted
 * every call of the window, ~330 000 at 10⁶ clues). `hotline_day` holds, per Shanghai day, the
 * counts of the calls that started that day and of the closed call-backs created that day, with
 * the done ones' times to call-back. It is filled on read (callbacks.usecases.ts, `hotlineDays`),
 * only for days that ended two days before, and starts empty: nothing to backfill.
 *
 * A row is dropped when something it counted changes late: an update of a call's figures more than
 * a day after the call started, a call-back closed more than a day after it was created, or a call
 * or call-back deleted. Those triggers take a shared advisory lock and the roll-up an exclusive one,
 * so a roll-up never keeps the figures of a change that committed while it counted. The triggers'
 * WHEN conditions are plain column comparisons, checked without calling the function: a call's
 * own webhooks (minutes after it started) pay for a comparison, nothing more.
 */
export class Migration20261204520000_hotline_day extends Migration {
  override name = 'Migration20261204520000_hotline_day';

  override up(): void {
    this.addSql(`create table "hotline_day" (
      "day" timestamptz not null, "calls" int not null, "answered_by_ivr" int not null, "reached_operator" int not null,
      "callback_requested" int not null, "abandoned" int not null, "in_progress" int not null, "reports" int not null,
      "called_back" int not null, "callback_seconds" double precision[] not null, "computed_at" timestamptz not null,
      primary key ("day"))`);
    this.addSql(`create function hotline_day_invalidate() returns trigger language plpgsql as $$
      declare t timestamptz;
      begin
        -- (Two statements: an expression naming old.started_at fails on a call-back's row, taken or not.)
        if tg_table_name = 'call' then t := old.started_at; else t := old.created_at; end if;
        perform pg_advisory_xact_lock_shared(hashtextextended('hotline_day', 0));
        delete from hotline_day where day = date_bin('1 day', t, timestamptz '2000-01-01 00:00:00+08');
        return null;
      end $$`);
    this.addSql(`create trigger "hotline_day_call_late" after update on "call" for each row
      when ((old.outcome is distinct from new.outcome or old.ended_at is distinct from new.ended_at
             or old.clue_id is distinct from new.clue_id or old.started_at is distinct from new.started_at)
        and old.started_at < greatest(now(), new.updated_at) - interval '1 day')
      execute function hotline_day_invalidate()`);
    this.addSql(`create trigger "hotline_day_callback_late" after update on "callback" for each row
      when ((old.state is distinct from new.state or old.done_at is distinct from new.done_at or old.created_at is distinct from new.created_at)
        and old.created_at < greatest(now(), new.done_at) - interval '1 day')
      execute function hotline_day_invalidate()`);
    this.addSql(`create trigger "hotline_day_call_deleted" after delete on "call" for each row execute function hotline_day_invalidate()`);
    this.addSql(`create trigger "hotline_day_callback_deleted" after delete on "callback" for each row execute function hotline_day_invalidate()`);
  }
}
