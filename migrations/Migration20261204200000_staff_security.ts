import { Migration } from '@mikro-orm/migrations';

/**
 * Staff account security (issue 12):
 * - `staff_session.last_seen_at`: the idle timeout (STAFF_IDLE_MINUTES); earlier sessions count from their start;
 * - `staff.totp_box`: the TOTP secret, sealed with the reporter key (AAD: the staff id), while
 *   enrolling and after; `staff.totp_confirmed_at`: when it was confirmed (from then on sign-in needs a code);
 * - `staff.recovery_codes`: SHA-256 hashes of the unused one-time recovery codes;
 * - `staff.totp_last_step`: the 30-second step of the last code used, so a code works once;
 * - `staff.password_changed_at`.
 */
export class Migration20261204200000_staff_security extends Migration {
  override name = 'Migration20261204200000_staff_security';

  override async up(): Promise<void> {
    this.addSql(`alter table "staff_session" add "last_seen_at" timestamptz null`);
    this.addSql(`update "staff_session" set "last_seen_at" = "created_at"`);
    this.addSql(`alter table "staff_session" alter column "last_seen_at" set not null`);
    this.addSql(`alter table "staff" add "totp_box" bytea null, add "totp_confirmed_at" timestamptz null, add "recovery_codes" jsonb null, add "totp_last_step" bigint null, add "password_changed_at" timestamptz null`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "staff_session" drop column "last_seen_at"`);
    this.addSql(`alter table "staff" drop column "totp_box", drop column "totp_confirmed_at", drop column "recovery_codes", drop column "totp_last_step", drop column "password_changed_at"`);
  }
}
