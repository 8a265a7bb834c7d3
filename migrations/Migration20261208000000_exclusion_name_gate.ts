import { Migration } from '@mikro-orm/migrations';

/**
 * A registration's excluded set, cheaper (bench/README "Intake: the excluded set's name members
 * behind a gate"):
 *
 * - `clue_exclusions_named` replaces `clue_exclusions_fresh`: the same name branches, without the
 *   unit branch (the registration writes its unit members as plain rows), run only when a staff
 *   account or a near-relative row has one of the accused's name keys at all. The text is the rule
 *   as it ships here; a test holds it equal to visibility.ts `FRESH_EXCLUSIONS_FUNCTION`.
 * - The gate's probe of registrants by name gets the index the registrant branch lacked.
 * - `clue_exclusion` loses its three foreign keys. Its rows are derived data, written with their
 *   clue in the registration statement or rewritten from the clue's accused under the clue's lock
 *   (`recomputeExclusions`); each key cost a trigger query per member inserted (~10 µs) and guarded
 *   a delete the code never makes: clues are kept for ever (the ledger stands for them), units and
 *   staff accounts are never deleted (an account is disabled).
 */
export class Migration20261208000000_exclusion_name_gate extends Migration {
  override name = 'Migration20261208000000_exclusion_name_gate';

  override async up(): Promise<void> {
    await this.execute(FUNCTION);
    await this.execute('drop function if exists clue_exclusions_fresh(uuid[], uuid[], text[], uuid[], text[], uuid[])');
    await this.execute('create index if not exists "near_relative_registrant_name_key_index" on "near_relative" ("registrant_name_key")');
    await this.execute(
      `alter table "clue_exclusion" drop constraint if exists "clue_exclusion_clue_id_foreign",
         drop constraint if exists "clue_exclusion_unit_id_foreign", drop constraint if exists "clue_exclusion_staff_id_foreign"`,
    );
  }
}

const FUNCTION = `create or replace function clue_exclusions_named(
    p_accused_id uuid[], p_clue_id uuid[], p_role text[], p_unit_id uuid[], p_name_key text[], p_clue_unit_id uuid[])
  returns table (x_id uuid, x_clue_id uuid, x_accused_id uuid, x_unit_id uuid, x_staff_id uuid, x_reason text)
  language plpgsql stable set plan_cache_mode = force_generic_plan as $fn$
begin
  if not (exists (select 1 from staff s where lower(regexp_replace(normalize(s.display_name, NFKC), '[[:space:]·•・‧.]', '', 'g')) = any(p_name_key))
      or exists (select 1 from near_relative n where n.relative_name_key = any(p_name_key))
      or exists (select 1 from near_relative n where n.registrant_name_key = any(p_name_key))) then
    return;
  end if;
  return query with acc as (
    select * from unnest(p_accused_id, p_clue_id, p_role, p_unit_id, p_name_key, p_clue_unit_id)
      as acc (accused_id, clue_id, role, unit_id, name_key, clue_unit_id))
  select md5(e.clue_id::text || e.accused_id::text || e.reason || coalesce(e.unit_id, e.staff_id)::text)::uuid,
         e.clue_id, e.accused_id, e.unit_id, e.staff_id, e.reason from (
    select acc.clue_id, acc.accused_id, null::uuid as unit_id, s.id as staff_id, 'accused_name' as reason
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
