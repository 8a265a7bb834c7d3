/**
 * The history, day by day over YEARS up to the anchor: clues and calls arrive (more on weekdays,
 * more in recent years), each one's life is worked out when it arrives (clue.ts, calls.ts), and a
 * priority queue (flatqueue) merges the rows of every life still running so that each table gets
 * its rows in the order the app would have written them. Ledger events get their ids in that order,
 * and one checkpoint a day seals them (the project's batchHash and checkpointHash), so
 * verify-ledger checks the whole history.
 */
import FlatQueue from 'flatqueue';
import type { Channel } from '../../src/modules/clues/clue.entity.ts';
import { batchHash, checkpointHash, type SealedEvent } from '../../src/modules/clues/ledger.checkpoint.ts';
import { GENESIS_HASH } from '../../src/modules/clues/ledger.ts';
import { callLife } from './calls.ts';
import { clueLife } from './clue.ts';
import { encodeRow } from './copy.ts';
import { DAY, HOUR, type Life, MINUTE } from './life.ts';
import { Rng } from './random.ts';
import { CHANNELS, OTHER_CALLS, VOLUME, YEARS } from './shape.ts';
import { encodeFields, type RowOf, type TableKey } from './tables.ts';
import type { World } from './world.ts';

/** Where rows go: `write` returns a promise only when the table's stream wants the caller to wait. */
export interface Sink {
  write(table: TableKey, line: string): Promise<void> | undefined;
}

export interface GenerateStats {
  rows: Partial<Record<TableKey, number>>;
  statuses: Record<string, number>;
  checkpoints: number;
  lastTxid: number;
}

const SHANGHAI = 8 * HOUR;

/** How many clues arrive on each day: the linear ramp and the weekend dip, summing to exactly `total`. */
export function dailyCounts(world: World, total: number): { start: number; counts: number[] } {
  const days = YEARS * 365;
  const start = Math.floor((world.anchor + SHANGHAI) / DAY) * DAY - SHANGHAI - days * DAY;
  const weights = Array.from({ length: days }, (_, d) => {
    const x = d / days;
    const weekday = new Date(start + d * DAY + SHANGHAI).getUTCDay();
    return (VOLUME.rateStart + (VOLUME.rateEnd - VOLUME.rateStart) * x) * (weekday === 0 || weekday === 6 ? VOLUME.weekend : 1);
  });
  const sum = weights.reduce((a, b) => a + b, 0);
  let carried = 0;
  let given = 0;
  const counts = weights.map((w) => {
    carried += (w / sum) * total;
    const n = Math.round(carried) - given;
    given += n;
    return n;
  });
  return { start, counts };
}

/** A time of day for a contact by `channel`: phone and visits in office hours mostly, web and email any time. */
function timeOfDay(rng: Rng, channel: Channel | 'call'): number {
  const office = channel === 'visit' || channel === 'letter' || channel === 'data_check' || channel === 'assigned' ? 0.97 : channel === 'phone' || channel === 'call' ? 0.8 : 0.45;
  const hour = rng.chance(office) ? 9 + rng.float() * 8.5 : rng.float() * 24;
  return Math.floor(hour * HOUR) + rng.int(0, MINUTE - 1) - (Math.floor(hour * HOUR) % MINUTE);
}

export async function generate(world: World, total: number, sink: Sink, opts: { txidBase: number; onProgress?: (clues: number) => void }): Promise<GenerateStats> {
  const stats: GenerateStats = { rows: {}, statuses: {}, checkpoints: 0, lastTxid: opts.txidBase };
  const put = async <K extends TableKey>(key: K, line: string) => {
    stats.rows[key] = (stats.rows[key] ?? 0) + 1;
    const wait = sink.write(key, line);
    if (wait) await wait;
  };
  const putRow = <K extends TableKey>(key: K, row: RowOf<K>) => put(key, encodeRow(encodeFields(key, row)));

  // The district first: units (parents before children), staff, bodies, the registry.
  const d = world.district;
  for (const u of [d.root, ...d.level2, ...d.committees]) await putRow('unit', u);
  for (const s of d.staff) await putRow('staff', s);
  for (const b of d.bodies) await putRow('disciplineBody', b);
  for (const r of d.registry) await putRow('nearRelative', r);

  // Ledger events in write order, sealed one checkpoint per day.
  let eventId = 0;
  let batch: SealedEvent[] = [];
  let batchDay = -1;
  let batchEnd = 0;
  let txid = opts.txidBase;
  let prevCheckpoint = GENESIS_HASH;
  const ranges = new Map<string, [number, number]>();
  const sealBatch = async () => {
    if (batch.length === 0) return;
    const row = { prevHash: prevCheckpoint, batchHash: batchHash(batch), fromXid: String(txid), toXid: String(txid + 1), eventCount: batch.length };
    const hash = checkpointHash(row);
    stats.checkpoints++;
    await putRow('ledgerCheckpoint', {
      id: stats.checkpoints, sealed_at: new Date(batchEnd + 5000), from_xid: row.fromXid, to_xid: row.toXid, event_count: row.eventCount,
      clues: JSON.stringify(Object.fromEntries(ranges)), quarantines: '{}', batch_hash: row.batchHash, prev_hash: row.prevHash, hash,
    });
    prevCheckpoint = hash;
    txid++;
    batch = [];
    ranges.clear();
  };

  const running = new FlatQueue<Life>();
  /** Writes every row due at or before `t`, in time order across all running lives. */
  const drain = async (t: number) => {
    while (running.length > 0 && running.peekValue()! <= t) {
      const life = running.pop()!;
      const competitor = running.length > 0 ? running.peekValue()! : Number.POSITIVE_INFINITY;
      const until = Math.min(t, competitor);
      while (life.next < life.entries.length && life.entries[life.next]!.at <= until) {
        const e = life.entries[life.next++]!;
        if (e.event) {
          const day = Math.floor((e.at + SHANGHAI) / DAY);
          if (day !== batchDay) {
            await sealBatch();
            batchDay = day;
          }
          eventId++;
          batch.push({ id: eventId, clue_id: e.event.clueId, quarantine_id: null, seq: e.event.seq, hash: e.event.hash });
          const r = ranges.get(e.event.clueId);
          ranges.set(e.event.clueId, r ? [Math.min(r[0], e.event.seq), Math.max(r[1], e.event.seq)] : [e.event.seq, e.event.seq]);
          batchEnd = e.at;
          await put('ledgerEvent', `${eventId}\t${e.event.middle}\t${txid}\n`);
        } else {
          await put(e.table as TableKey, e.line!);
        }
      }
      if (life.next < life.entries.length) running.push(life, life.nextAt);
    }
  };

  const { start, counts } = dailyCounts(world, total);
  const days = counts.length;
  let clueIndex = 0;
  let callIndex = 0;
  const callRate = (CHANNELS.phone / Object.values(CHANNELS).reduce((a, b) => a + b, 0)) * OTHER_CALLS.perPhoneClue;
  for (let day = 0; day < days; day++) {
    const rng = new Rng(world.seed, `day:${day}`);
    const dayStart = start + day * DAY;
    const arrivals: { at: number; channel: Channel | 'call' }[] = [];
    for (let i = 0; i < counts[day]!; i++) {
      const channel = rng.weighted(CHANNELS);
      arrivals.push({ at: dayStart + timeOfDay(rng, channel), channel });
    }
    const calls = Math.round(counts[day]! * callRate * (0.8 + 0.4 * rng.float()));
    for (let i = 0; i < calls; i++) arrivals.push({ at: dayStart + timeOfDay(rng, 'call'), channel: 'call' });
    arrivals.sort((a, b) => a.at - b.at);
    for (const a of arrivals) {
      // A phone report is registered minutes after its call starts: none may end after the anchor.
      if (a.at >= world.anchor - (a.channel === 'phone' ? 10 * MINUTE : 0)) continue;
      await drain(a.at);
      if (a.channel === 'call') {
        const life = callLife(world, callIndex++, a.at);
        running.push(life, life.nextAt);
      } else {
        const { life, status } = clueLife(world, { index: clueIndex++, receivedAt: a.at, channel: a.channel });
        stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
        running.push(life, life.nextAt);
        if (clueIndex % 10_000 === 0) opts.onProgress?.(clueIndex);
      }
    }
  }
  await drain(Number.POSITIVE_INFINITY);
  await sealBatch();
  stats.lastTxid = txid;
  return stats;
}
