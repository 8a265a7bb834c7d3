import { Migration } from '@mikro-orm/migrations';

/**
 * The excluded set matches an accused's name against staff names (visibility.ts, `sqlNameKey`) in
 * every registration that names someone: an index on that very expression makes the match a lookup
 * instead of normalising every staff name each time (bench/README "register").
 */
export class Migration20261204410000_staff_name_key_index extends Migration {
  override name = 'Migration20261204410000_staff_name_key_index';

  override async up(): Promise<void> {
    await this.execute(
      `create index "staff_name_key_index" on "staff" ((lower(regexp_replace(normalize("display_name", NFKC), '[[:space:]·•・‧.]', '', 'g'))))`,
    );
  }
}
