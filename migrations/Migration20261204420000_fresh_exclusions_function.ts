import { Migration } from '@mikro-orm/migrations';

/**
 * `clue_exclusions_fresh`: a registration's excluded set as a PL/pgSQL function, so that its query
 * is planned once per connection instead of in every group registration statement (visibility.ts
 * `FRESH_EXCLUSIONS_FUNCTION`; bench/README "register"). The text is the rule as it ships here; a
 * test holds it equal to visibility.ts, so a change of the rule comes with a migration of its own.
 */
export class Migration20261204420000_fresh_exclusions_function extends Migration {
  override name = 'Migration20261204420000_fresh_exclusions_function';

  override async up(): Promise<void> {
    await this.execute(FUNCTION);
  }
}

const FUNCTION = `create or replace function clue_exclusions_fresh(
    p_accused_id uuid[], p_clue_id uuid[], p_role text[], p_unit_id uuid[], p_name_key text[], p_clue_unit_id uuid[])
  returns table (x_id uuid, x_clue_id uuid, x_accused_id uuid, x_unit_id uuid, x_staff_id uuid, x_reason text)
  language plpgsql stable set plan_cache_mode = force_generic_plan as $fn$
begin
  return query with acc as (
    select * from unnest(p_accused_id, p_clue_id, p_role, p_unit_id, p_name_key, p_clue_unit_id)
      as acc (accused_id, clue_id, role, unit_id, name_key, clue_unit_id))
  select md5(e.clue_id::text || e.accused_id::text || e.reason || coalesce(e.unit_id, e.staff_id)::text)::uuid,
         e.clue_id, e.accused_id, e.unit_id, e.staff_id, e.reason from (
    select acc.clue_id, acc.accused_id, acc.unit_id, null::uuid as staff_id, 'accused_unit' as reason
      from acc where acc.unit_id is not null and acc.role in ('official', 'caseworker', 'cadre', 'unknown')
    union all
    select acc.clue_id, acc.accused_id, null::uuid, s.id, 'accused_name'
      from acc cross join lateral (
        select coalesce((select split_part(u.path, '/', 2) from unit u where u.id = acc.unit_id),
                        (select split_part(u.path, '/', 2) from unit u where u.id = acc.clue_unit_id)) as district) d
      join staff s on lower(regexp_replace(normalize(s.display_name, NFKC), '[[:space:]·•・‧.]', '', 'g')) = acc.name_key
      join unit su on su.id = s.unit_id
      where acc.name_key <> '' and (d.district is null or su.path like '/' || d.district || '/%')
    union all
    select acc.clue_id, acc.accused_id, null::uuid, n.registrant_staff_id, 'accused_registrant'
      from acc join near_relative n on n.registrant_name_key = acc.name_key and n.registrant_staff_id is not null
      join unit nu on nu.id = n.registrant_unit_id
      where acc.name_key <> '' and acc.role in ('official', 'caseworker', 'cadre', 'unknown')
        and (acc.unit_id is null or nu.path like '%/' || acc.unit_id || '/%')
    union all
    select acc.clue_id, acc.accused_id, null::uuid, s.id, 'registered_relative'
      from acc join near_relative n on n.relative_name_key = acc.name_key
      join staff s on s.id = n.registrant_staff_id
        or (n.registrant_staff_id is null and s.unit_id = n.registrant_unit_id and lower(regexp_replace(normalize(s.display_name, NFKC), '[[:space:]·•・‧.]', '', 'g')) = n.registrant_name_key)
      where acc.name_key <> ''
  ) e;
end
$fn$`;
