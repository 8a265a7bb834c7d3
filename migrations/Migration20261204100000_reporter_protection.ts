import { Migration } from '@mikro-orm/migrations';

/**
 * Reporter protection, part B (issue 11):
 * - `referral.link_revoked_at`: a supervisor can revoke a packet link;
 * - quarantine details written before named a refused attachment ("附件“张三_139….exe”被拒绝"):
 *   the name (the reporter's text) is cut out, leaving "附件被拒绝" / "Attachment was refused".
 *   The `quarantine.held` events never held the detail, so the ledger is untouched.
 *
 * - `attachment.filename_box`: the file name sealed (the reporter's text); `filename` becomes
 *   nullable and is emptied as the names are sealed.
 *
 * Message-IDs kept in clear (`quarantined_mail.message_id`, `email:` intake keys) become keyed
 * hashes, and clear attachment names are sealed, in start-up steps, not here: the keys live outside
 * the database (README "Email intake", "Attachments").
 */
export class Migration20261204100000_reporter_protection extends Migration {
  override name = 'Migration20261204100000_reporter_protection';

  override async up(): Promise<void> {
    await this.execute(`alter table "referral" add "link_revoked_at" timestamptz null`);
    await this.execute(`alter table "attachment" add "filename_box" bytea null, alter column "filename" drop not null`);
    await this.execute(
      `update "quarantined_mail" set "detail" = regexp_replace(regexp_replace("detail", '附件“.*?”被拒绝', '附件被拒绝'), 'Attachment ".*?" was refused', 'Attachment was refused')
       where "reason" = 'forbidden_attachment'`,
    );
  }
}
