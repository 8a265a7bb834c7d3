import { Migration } from '@mikro-orm/migrations';

/**
 * The citizen's side (issue 20):
 * - `clue.locale`: the reporter's language, chosen at intake (earlier clues: Chinese);
 * - `clue.notify_progress`: a named reporter agreed to be told of staff replies (earlier: no one);
 * - `message.localized`: automatic messages in every language, so the reporter reads one;
 * - accused role `unknown` (不清楚).
 *
 * Automatic messages written before were one text, "中文 / English" (acceptance, refusal, an
 * extended deadline). They are found by their `message.posted` event, which carries a `reason` and
 * no hash of the body (so rewriting the body leaves the ledger intact), and split at the first
 * "。/ " or line break + "/ " followed by a capital letter; `body` keeps the Chinese, as new
 * automatic messages do. A text that does not split so is left as it was.
 */
export class Migration20261203100000_reporter_language extends Migration {
  override name = 'Migration20261203100000_reporter_language';

  override async up(): Promise<void> {
    for (const statement of [
      `alter table "clue" add "locale" text not null default 'zh-CN', add "notify_progress" boolean not null default false`,
      `alter table "clue" add constraint "clue_locale_check" check ("locale" in ('zh-CN', 'en'))`,
      `alter table "message" add "localized" jsonb null`,
      `alter table "accused" drop constraint "accused_role_check"`,
      `alter table "accused" add constraint "accused_role_check" check ("role" in ('official', 'caseworker', 'cadre', 'beneficiary', 'other', 'unknown'))`,
    ]) {
      await this.execute(statement);
    }
    const rows = (await this.execute(
      `select m.id, m.body from "message" m
       where m.author = 'staff' and m.localized is null and exists (
         select 1 from "ledger_event" e
         where e.clue_id = m.clue_id and e.type = 'message.posted' and e.data->>'messageId' = m.id::text and e.data->>'reason' is not null)`,
    )) as { id: string; body: string }[];
    for (const row of rows) {
      const parts = splitBilingual(row.body);
      if (!parts) continue;
      await this.execute(`update "message" set "body" = ?, "localized" = ?::jsonb where "id" = ?`, [
        parts.zh,
        JSON.stringify({ 'zh-CN': parts.zh, en: parts.en }),
        row.id,
      ]);
    }
  }
}

/** "中文。/ English" or "中文\n/ English" → both halves; null when the text is not of that form. */
export function splitBilingual(text: string): { zh: string; en: string } | null {
  const m = /^([\s\S]*?[。\n])\s*\/ ([A-Z][\s\S]*)$/.exec(text);
  if (!m) return null;
  const zh = m[1]!.trim();
  const en = m[2]!.trim();
  return zh && en ? { zh, en } : null;
}
