import { randomUUID } from 'node:crypto';

/** A UUID's text form (any version): what every id of this system is, checked before SQL sees one. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** 16 bytes as a UUID's text form. */
export function uuidText(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * A time-ordered UUID (RFC 9562 version 7): the first 48 bits are `ms` (milliseconds since 1970),
 * the other 74 random. A clue's id is one, so that the rows other tables keep by clue (its accused,
 * excluded set, conclusion, deadlines, events) sit in an index in the order the clues came in: a
 * read of clues in time order (the export, the lists) then walks those indexes forward through a
 * few leaf pages instead of landing on a random leaf for every clue (bench/README "reports"), and a
 * registration adds to the right-hand end of them. A clue's id thus tells when it was registered,
 * which its receipt time already shows to every reader of the clue; reporters never see clue ids
 * (they hold a tracking code). Hand-written: Node has `randomUUID` (version 4) only, and this is
 * the whole of the layout.
 */
export function timeOrderedUuid(ms: number): string {
  // The random bits of a version-4 UUID (`randomUUID` draws from a buffered pool; `randomBytes(16)`
  // was a call into the system's generator per id, 9 µs of every registration): its 12 bits after
  // the version digit and its variant group and node are random, as version 7's are.
  return withTime(randomUUID(), ms);
}

/** 16 bytes (a data set's random stream) laid out as a version-7 UUID whose 48-bit time is `ms`; `b` is overwritten. */
export function uuid7From(b: Buffer, ms: number): string {
  b[8] = (b[8]! & 0x3f) | 0x80;
  return withTime(uuidText(b), ms);
}

/** A UUID's text with RFC 9562's variant, its first 48 bits replaced by `ms` and its version digit by 7. */
function withTime(uuid: string, ms: number): string {
  const t = (Math.max(0, Math.floor(ms)) % 2 ** 48).toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8)}-7${uuid.slice(15)}`;
}
