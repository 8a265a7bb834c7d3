import { Migration } from '@mikro-orm/migrations';

/**
 * The serve processes keep the principal of a staff token for a few seconds (staff.usecases.ts
 * `authenticate`, principal-cache.ts). Every change that could end or alter one tells them, from
 * inside the changing transaction, so the notice is delivered only if and when it commits:
 * `pg_notify('staff_principal', <table>)` from triggers on
 *
 * - `staff_session`: a session deleted, or its account, expiry or token changed (not the
 *   once-a-minute `last_seen_at` touch, unless it moves back);
 * - `staff`: an account deleted, or its name, role, unit, active flag, discipline body, second
 *   factor or password changed (not the TOTP replay step or the recovery codes);
 * - `unit`: a unit deleted, or its path or parent changed;
 * - a truncate of any of the three.
 *
 * Triggers rather than calls in the use cases: a change made from anywhere (another replica, the
 * command line, psql) notifies too. The WHEN conditions are plain column comparisons, checked
 * without calling the function. A listener empties its whole cache on any notice (they are rare).
 *
 * `staff_session_principal` also returns the session's `expires_at` now, so that a cached principal
 * expires with its session.
 */
export class Migration20261205000000_staff_principal_notices extends Migration {
  override name = 'Migration20261205000000_staff_principal_notices';

  override up(): void {
    this.addSql(`create function staff_principal_changed() returns trigger language plpgsql as $$
      begin
        perform pg_notify('staff_principal', tg_table_name);
        return null;
      end $$`);
    this.addSql(`create trigger "staff_session_principal_changed" after update on "staff_session" for each row
      when (old.token_hash is distinct from new.token_hash or old.staff_id is distinct from new.staff_id
            or old.expires_at is distinct from new.expires_at or new.last_seen_at < old.last_seen_at)
      execute function staff_principal_changed()`);
    this.addSql(`create trigger "staff_session_principal_deleted" after delete on "staff_session" for each row execute function staff_principal_changed()`);
    this.addSql(`create trigger "staff_principal_changed" after update on "staff" for each row
      when (old.id is distinct from new.id or old.username is distinct from new.username or old.role is distinct from new.role
            or old.unit_id is distinct from new.unit_id or old.active is distinct from new.active
            or old.discipline_body is distinct from new.discipline_body or old.totp_confirmed_at is distinct from new.totp_confirmed_at
            or old.totp_box is distinct from new.totp_box or old.password_hash is distinct from new.password_hash)
      execute function staff_principal_changed()`);
    this.addSql(`create trigger "staff_principal_deleted" after delete on "staff" for each row execute function staff_principal_changed()`);
    this.addSql(`create trigger "unit_principal_changed" after update on "unit" for each row
      when (old.id is distinct from new.id or old.path is distinct from new.path or old.parent_id is distinct from new.parent_id)
      execute function staff_principal_changed()`);
    this.addSql(`create trigger "unit_principal_deleted" after delete on "unit" for each row execute function staff_principal_changed()`);
    for (const table of ['staff_session', 'staff', 'unit']) {
      this.addSql(`create trigger "${table}_principal_truncated" after truncate on "${table}" for each statement execute function staff_principal_changed()`);
    }
    // A new column in the result: a function's row type cannot be replaced in place.
    this.addSql('drop function staff_session_principal(text, timestamptz, timestamptz)');
    this.addSql(`create function staff_session_principal(p_token_hash text, p_now timestamptz, p_idle_since timestamptz)
  returns table (id uuid, username text, role text, discipline_body uuid, totp boolean, unit_id uuid, path text, parent_id uuid, last_seen_at timestamptz, expires_at timestamptz)
  language plpgsql stable set plan_cache_mode = force_generic_plan as $fn$
begin
  return query
    select s.id, s.username::text, s.role, s.discipline_body, s.totp_confirmed_at is not null, u.id, u.path::text, u.parent_id, ss.last_seen_at, ss.expires_at
      from staff_session ss join staff s on s.id = ss.staff_id join unit u on u.id = s.unit_id
      where ss.token_hash = p_token_hash and ss.expires_at > p_now and ss.last_seen_at > p_idle_since and s.active;
end
$fn$`);
  }
}
