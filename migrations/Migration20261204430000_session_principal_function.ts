import { Migration } from '@mikro-orm/migrations';

/**
 * `staff_session_principal`: the session read of every staff request (staff.usecases.ts
 * `authenticate`) as a PL/pgSQL function, so that its query is planned once per connection and the
 * plan kept, instead of parsed and planned for each request — the planning cost three times the
 * read itself (bench/README "register"). Still one read of the session, its account and unit by
 * primary key on every request: a session ended on any replica is refused by all of them at once.
 */
export class Migration20261204430000_session_principal_function extends Migration {
  override name = 'Migration20261204430000_session_principal_function';

  override async up(): Promise<void> {
    await this.execute(`create or replace function staff_session_principal(p_token_hash text, p_now timestamptz, p_idle_since timestamptz)
  returns table (id uuid, username text, role text, discipline_body uuid, totp boolean, unit_id uuid, path text, parent_id uuid, last_seen_at timestamptz)
  language plpgsql stable set plan_cache_mode = force_generic_plan as $fn$
begin
  return query
    select s.id, s.username::text, s.role, s.discipline_body, s.totp_confirmed_at is not null, u.id, u.path::text, u.parent_id, ss.last_seen_at
      from staff_session ss join staff s on s.id = ss.staff_id join unit u on u.id = s.unit_id
      where ss.token_hash = p_token_hash and ss.expires_at > p_now and ss.last_seen_at > p_idle_since and s.active;
end
$fn$`);
  }
}
