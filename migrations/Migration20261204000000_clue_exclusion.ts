import { Migration } from '@mikro-orm/migrations';

/**
 * Reporter protection at the root (issue 11): a clue's excluded set (README "Who sees what").
 * - `accused.name_key`: the accused's name as staff names and the registry are matched on (filled
 *   here with the SQL form of `nameKey`);
 * - `clue_exclusion`: the units and staff accounts that must not see or handle each clue;
 * - `accused_link`: an operator's word that an accused is (or is not) a staff account.
 * The excluded sets of the clues already registered are computed here, with the rule as it ships.
 */
const nameKey = (expr: string) => `lower(regexp_replace(normalize(${expr}, NFKC), '[[:space:]·•・‧.]', '', 'g'))`;

export class Migration20261204000000_clue_exclusion extends Migration {
  override name = 'Migration20261204000000_clue_exclusion';

  override async up(): Promise<void> {
    for (const statement of [
      `alter table "accused" add "name_key" varchar(200) null`,
      `update "accused" set "name_key" = left(${nameKey('"name"')}, 200)`,
      `alter table "accused" alter column "name_key" set not null`,
      `create index "accused_name_key_index" on "accused" ("name_key")`,
      `create table "clue_exclusion" ("id" uuid not null, "clue_id" uuid not null, "accused_id" uuid not null, "unit_id" uuid null, "staff_id" uuid null, "reason" text not null, primary key ("id"))`,
      `create index "clue_exclusion_clue_id_index" on "clue_exclusion" ("clue_id")`,
      `create index "clue_exclusion_unit_id_index" on "clue_exclusion" ("unit_id")`,
      `create index "clue_exclusion_staff_id_index" on "clue_exclusion" ("staff_id")`,
      `alter table "clue_exclusion" add constraint "clue_exclusion_clue_id_foreign" foreign key ("clue_id") references "clue" ("id") on delete cascade`,
      `alter table "clue_exclusion" add constraint "clue_exclusion_unit_id_foreign" foreign key ("unit_id") references "unit" ("id") on delete set null`,
      `alter table "clue_exclusion" add constraint "clue_exclusion_staff_id_foreign" foreign key ("staff_id") references "staff" ("id") on delete set null`,
      `alter table "clue_exclusion" add constraint "clue_exclusion_reason_check" check ("reason" in ('accused_unit', 'accused_name', 'accused_linked', 'accused_registrant', 'registered_relative'))`,
      `create table "accused_link" ("id" uuid not null, "clue_id" uuid not null, "accused_id" uuid not null, "staff_id" uuid not null, "kind" text not null, "reason" varchar(500) not null, "created_by" uuid not null, "created_at" timestamptz not null, primary key ("id"))`,
      `create index "accused_link_clue_id_index" on "accused_link" ("clue_id")`,
      `alter table "accused_link" add constraint "accused_link_accused_id_staff_id_unique" unique ("accused_id", "staff_id")`,
      `alter table "accused_link" add constraint "accused_link_clue_id_foreign" foreign key ("clue_id") references "clue" ("id")`,
      `alter table "accused_link" add constraint "accused_link_accused_id_foreign" foreign key ("accused_id") references "accused" ("id")`,
      `alter table "accused_link" add constraint "accused_link_staff_id_foreign" foreign key ("staff_id") references "staff" ("id")`,
      `alter table "accused_link" add constraint "accused_link_kind_check" check ("kind" in ('same_person', 'not_same_person'))`,
      // The excluded sets of existing clues: (a) accused units, (b) staff by name within the district
      // and registrants under an accused official's name, (c) staff who registered an accused as a relative.
      `insert into clue_exclusion (id, clue_id, accused_id, unit_id, staff_id, reason)
       select md5(e.clue_id::text || e.accused_id::text || e.reason || coalesce(e.unit_id, e.staff_id)::text)::uuid,
              e.clue_id, e.accused_id, e.unit_id, e.staff_id, e.reason from (
         select a.clue_id, a.id as accused_id, a.unit_id, null::uuid as staff_id, 'accused_unit' as reason
           from accused a where a.unit_id is not null and a.role in ('official', 'caseworker', 'cadre', 'unknown')
         union all
         select a.clue_id, a.id, null::uuid, s.id, 'accused_name'
           from accused a join clue c on c.id = a.clue_id
           cross join lateral (select coalesce((select split_part(u.path, '/', 2) from unit u where u.id = a.unit_id),
                                               (select split_part(u.path, '/', 2) from unit u where u.id = c.unit_id)) as district) d
           join staff s on ${nameKey('s.display_name')} = a.name_key join unit su on su.id = s.unit_id
           where a.name_key <> '' and (d.district is null or su.path like '/' || d.district || '/%')
         union all
         select a.clue_id, a.id, null::uuid, n.registrant_staff_id, 'accused_registrant'
           from accused a join near_relative n on n.registrant_name_key = a.name_key and n.registrant_staff_id is not null
           join unit nu on nu.id = n.registrant_unit_id
           where a.name_key <> '' and a.role in ('official', 'caseworker', 'cadre', 'unknown') and (a.unit_id is null or nu.path like '%/' || a.unit_id || '/%')
         union all
         select a.clue_id, a.id, null::uuid, s.id, 'registered_relative'
           from accused a join near_relative n on n.relative_name_key = a.name_key
           join staff s on s.id = n.registrant_staff_id
             or (n.registrant_staff_id is null and s.unit_id = n.registrant_unit_id and ${nameKey('s.display_name')} = n.registrant_name_key)
           where a.name_key <> ''
       ) e on conflict (id) do nothing`,
    ]) {
      await this.execute(statement);
    }
  }
}
