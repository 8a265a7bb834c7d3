import type { KeyObject } from 'node:crypto';
import { type Orm, sql } from '../../app/db.ts';
import type { Logger } from '../../app/logger.ts';
import { seal, unseal } from '../../app/seal.ts';
import { attachmentLabel } from './attachments.label.ts';

/**
 * An attachment's file name is the reporter's own text ("张秘密_13900001111.pdf"), so it is sealed
 * like the reporter record (AES-256-GCM under the reporter key, bound to the attachment's id):
 * `attachment.filename_box`. Staff see a label (place, type, size); the name itself only where they
 * may see the reporter (the reveal path), the reporter on their own follow-up page, and a referral
 * packet only with the reporter's consent. New ledger events carry no name.
 */
const aad = (attachmentId: string) => `attachment:${attachmentId}`;

export function sealName(key: KeyObject, attachmentId: string, name: string): Buffer {
  return seal(key, name, aad(attachmentId));
}

/** The name, from its box (or, before the start-up step ran, the clear column). */
export function openName(key: KeyObject, row: { id: string; filename?: string | null; filenameBox?: Uint8Array | null }): string {
  if (row.filenameBox) return unseal(key, Buffer.from(row.filenameBox), aad(row.id));
  return row.filename ?? '';
}

/** What staff see: "附件 1 (PDF, 2.1 MB) / Attachment 1 (PDF, 2.1 MB)", `index` counting from 1 in the clue's order. */
export function labelled(index: number, a: { contentType: string; size: number }) {
  const l = attachmentLabel(index, a.contentType, Number(a.size));
  return { label: l.zh, labelEn: l.en };
}

/**
 * Event views never show a name from event data: events written before names were sealed carry
 * `filename` (the chain is append-only, so their bytes stay); it is left out when they are shown.
 */
export function withoutNames(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (k === 'filename') continue;
    out[k] = k === 'attachments' && Array.isArray(v) ? v.map((a) => (a && typeof a === 'object' ? withoutNames(a as Record<string, unknown>) : a)) : v;
  }
  return out;
}

/**
 * Start-up step (idempotent): names kept in clear by earlier versions are sealed into
 * `filename_box` and the clear column emptied (null). A migration cannot do it: the reporter key
 * lives outside the database.
 */
export async function sealClearNames(orm: Orm, key: KeyObject, logger: Logger, stopped: () => boolean = () => false): Promise<number> {
  let sealed = 0;
  while (!stopped()) {
    const em = orm.em.fork();
    const rows = await sql<{ id: string; filename: string }>(em, 'select id, filename from attachment where filename is not null order by id limit 500');
    if (rows.length === 0) break;
    await em.transactional(async (tx) => {
      for (const r of rows) await sql(tx, 'update attachment set filename_box = ?, filename = null where id = ? and filename is not null', [sealName(key, r.id, r.filename), r.id]);
    });
    sealed += rows.length;
  }
  if (sealed) logger.info({ attachments: sealed }, 'clear attachment names sealed');
  return sealed;
}
