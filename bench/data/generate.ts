/**
 * The history, day by day over YEARS up to the anchor: clues and calls arrive (more on weekdays,
 * more in recent years), each one's life is worked out when it arrives (clue.ts, calls.ts: in
 * worker threads, a day at a time, since lives depend only on the seed and the arrival), and a
 * priority queue (flatqueue) merges the rows of every life still running so that each table gets
 * its rows in the order the app would have written them. Ledger events get their ids in that order,
 * and one checkpoint a day seals them (the project's batchHash and checkpointHash), so
 * verify-ledger checks the whole history.
 */
import FlatQueue from 'flatqueue';
import type { Channel } from '../../src/modules/clues/clue.entity.ts';
import { batchHash, checkpointHash, type SealedEvent, signCheckpoint } from '../../src/modules/clues/ledger.checkpoint.ts';
import { GENESIS_HASH } from '../../src/modules/clues/ledger.ts';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { callLife } from './calls.ts';
import { clueLife } from './clue.ts';
import { encodeRow } from './copy.ts';
import { DAY, HOUR, MINUTE } from './life.ts';
import { Rng } from './random.ts';
import { CHANNELS, OTHER_CALLS, VOLUME, YEARS } from './shape.ts';
import { encodeFields, type RowOf, type TableKey, tableKeys } from './tables.ts';
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

/** One arrival of a day: a clue (with its channel) or another call. */
export interface DayItem {
  at: number;
  channel: Channel | 'call';
  index: number;
}

/** The arrivals of day `day`, in time order, numbered from the counters given. */
export function dayArrivals(world: World, day: number, dayStart: number, clues: number, counters: { clue: number; call: number; callsOwed: number }): DayItem[] {
  const rng = new Rng(world.seed, `day:${day}`);
  const arrivals: { at: number; channel: Channel | 'call' }[] = [];
  for (let i = 0; i < clues; i++) {
    const channel = rng.weighted(CHANNELS);
    arrivals.push({ at: dayStart + timeOfDay(rng, channel), channel });
  }
  const callRate = (CHANNELS.phone / Object.values(CHANNELS).reduce((a, b) => a + b, 0)) * OTHER_CALLS.perPhoneClue;
  // Fractions carry over to the next day, so a small data set still has its calls.
  counters.callsOwed += clues * callRate * (0.8 + 0.4 * rng.float());
  const calls = Math.floor(counters.callsOwed);
  counters.callsOwed -= calls;
  for (let i = 0; i < calls; i++) arrivals.push({ at: dayStart + timeOfDay(rng, 'call'), channel: 'call' });
  arrivals.sort((a, b) => a.at - b.at);
  const out: DayItem[] = [];
  for (const a of arrivals) {
    // A phone report is registered minutes after its call starts: none may end after the anchor.
    if (a.at >= world.anchor - (a.channel === 'phone' ? 10 * MINUTE : 0)) continue;
    out.push({ ...a, index: a.channel === 'call' ? counters.call++ : counters.clue++ });
  }
  return out;
}

/** Table of an entry: its index in `tableKeys`, or EVENT for a ledger event. */
const EVENT = 255;

/**
 * The lives of one day's arrivals, packed for the trip from a worker thread: flat arrays, one slot
 * per row, with each life's end offset; ledger events carry their chain, seq and hash beside the
 * line (the id and transaction id are given on the main thread, in write order).
 */
export interface PackedDay {
  day: number;
  ends: Int32Array;
  at: Float64Array;
  table: Uint8Array;
  line: string[];
  clue: string[];
  seq: Int32Array;
  hash: string[];
  statuses: Record<string, number>;
}

export function lifeOfDay(world: World, day: number, items: DayItem[]): PackedDay {
  const lives = items.map((a) => (a.channel === 'call' ? { life: callLife(world, a.index, a.at), status: null } : clueLife(world, { index: a.index, receivedAt: a.at, channel: a.channel })));
  const n = lives.reduce((sum, l) => sum + l.life.entries.length, 0);
  const packed: PackedDay = { day, ends: new Int32Array(lives.length), at: new Float64Array(n), table: new Uint8Array(n), line: new Array(n), clue: new Array(n), seq: new Int32Array(n), hash: new Array(n), statuses: {} };
  let k = 0;
  lives.forEach(({ life, status }, i) => {
    if (status) packed.statuses[status] = (packed.statuses[status] ?? 0) + 1;
    for (const e of life.entries) {
      packed.at[k] = e.at;
      if (e.event) {
        packed.table[k] = EVENT;
        packed.line[k] = e.event.middle;
        packed.clue[k] = e.event.clueId;
        packed.seq[k] = e.event.seq;
        packed.hash[k] = e.event.hash;
      } else {
        packed.table[k] = tableKeys.indexOf(e.table as TableKey);
        packed.line[k] = e.line!;
        packed.clue[k] = '';
        packed.hash[k] = '';
      }
      k++;
    }
    packed.ends[i] = k;
  });
  return packed;
}

/** A running life on the main thread: its own copies of its rows (so a day's arrays can be freed). */
interface Running {
  at: Float64Array;
  table: Uint8Array;
  line: string[];
  clue: string[];
  seq: Int32Array;
  hash: string[];
  next: number;
}

/** The rows not yet written, alone: a long life (a clue stuck for months) holds no more than it must. */
function compact(l: Running): Running {
  const i = l.next;
  return { at: l.at.slice(i), table: l.table.slice(i), line: l.line.slice(i), clue: l.clue.slice(i), seq: l.seq.slice(i), hash: l.hash.slice(i), next: 0 };
}

/** Worker threads working out days ahead of the merge; results come back in day order. */
function workerPool(seed: number, workers: number) {
  const pool = Array.from({ length: workers }, () => new Worker(new URL('./worker.ts', import.meta.url), { workerData: { seed } }));
  const waiting = new Map<number, { resolve: (p: PackedDay) => void; reject: (e: Error) => void }>();
  for (const w of pool) {
    w.on('message', (p: PackedDay) => {
      waiting.get(p.day)?.resolve(p);
      waiting.delete(p.day);
    });
    w.on('error', (err) => {
      for (const { reject } of waiting.values()) reject(err);
      waiting.clear();
    });
  }
  let turn = 0;
  return {
    submit(day: number, items: DayItem[]): Promise<PackedDay> {
      const p = new Promise<PackedDay>((resolve, reject) => waiting.set(day, { resolve, reject }));
      pool[turn++ % pool.length]!.postMessage({ day, items });
      return p;
    },
    close: () => Promise.all(pool.map((w) => w.terminate())),
  };
}

export async function generate(
  world: World,
  total: number,
  sink: Sink,
  opts: { txidBase: number; workers?: number; onProgress?: (clues: number) => void },
): Promise<GenerateStats> {
  const stats: GenerateStats = { rows: {}, statuses: {}, checkpoints: 0, lastTxid: opts.txidBase };
  const put = async (key: TableKey, line: string) => {
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
    const { signature, keyId } = signCheckpoint(world.keys.ledger, hash);
    stats.checkpoints++;
    await putRow('ledgerCheckpoint', {
      id: stats.checkpoints, sealed_at: new Date(batchEnd + 5000), from_xid: row.fromXid, to_xid: row.toXid, event_count: row.eventCount,
      clues: JSON.stringify(Object.fromEntries(ranges)), quarantines: '{}', audits: '{}', batch_hash: row.batchHash, prev_hash: row.prevHash, hash,
      signature, key_id: keyId,
    });
    prevCheckpoint = hash;
    txid++;
    batch = [];
    ranges.clear();
  };

  const running = new FlatQueue<Running>();
  /** Writes every row due at or before `t`, in time order across all running lives. */
  const drain = async (t: number) => {
    while (running.length > 0 && running.peekValue()! <= t) {
      const life = running.pop()!;
      const competitor = running.length > 0 ? running.peekValue()! : Number.POSITIVE_INFINITY;
      const until = Math.min(t, competitor);
      const n = life.at.length;
      while (life.next < n && life.at[life.next]! <= until) {
        const i = life.next++;
        const table = life.table[i]!;
        if (table === EVENT) {
          const at = life.at[i]!;
          const day = Math.floor((at + SHANGHAI) / DAY);
          if (day !== batchDay) {
            await sealBatch();
            batchDay = day;
          }
          eventId++;
          const clueId = life.clue[i]!;
          const seq = life.seq[i]!;
          batch.push({ id: eventId, clue_id: clueId, quarantine_id: null, seq, hash: life.hash[i]! });
          const r = ranges.get(clueId);
          if (r) r[1] = seq;
          else ranges.set(clueId, [seq, seq]);
          batchEnd = at;
          await put('ledgerEvent', `${eventId}\t${life.line[i]}\t${txid}\n`);
        } else {
          await put(tableKeys[table]!, life.line[i]!);
        }
      }
      if (life.next < n) running.push(life.next > 16 && life.next * 2 > n ? compact(life) : life, life.at[life.next]!);
    }
  };

  const { start, counts } = dailyCounts(world, total);
  const pool = workerPool(world.seed, opts.workers ?? Math.max(1, Math.min(4, availableParallelism())));
  const counters = { clue: 0, call: 0, callsOwed: 0 };
  const dayItems = counts.map((n, day) => dayArrivals(world, day, start + day * DAY, n, counters));
  const AHEAD = 8;
  const pending: Promise<PackedDay>[] = [];
  let reported = 0;
  try {
    for (let day = 0; day < Math.min(AHEAD, counts.length); day++) pending.push(pool.submit(day, dayItems[day]!));
    for (let day = 0; day < counts.length; day++) {
      const packed = await pending[day]!;
      delete pending[day];
      if (day + AHEAD < counts.length) pending[day + AHEAD] = pool.submit(day + AHEAD, dayItems[day + AHEAD]!);
      const items = dayItems[day]!;
      let from = 0;
      for (let i = 0; i < items.length; i++) {
        const end = packed.ends[i]!;
        await drain(items[i]!.at);
        if (end > from) {
          running.push(
            { at: packed.at.slice(from, end), table: packed.table.slice(from, end), line: packed.line.slice(from, end), clue: packed.clue.slice(from, end), seq: packed.seq.slice(from, end), hash: packed.hash.slice(from, end), next: 0 },
            packed.at[from]!,
          );
        }
        from = end;
      }
      for (const [k, v] of Object.entries(packed.statuses)) stats.statuses[k] = (stats.statuses[k] ?? 0) + v;
      const done = items.reduce((m, a) => (a.channel === 'call' ? m : Math.max(m, a.index + 1)), reported);
      if (Math.floor(done / 50_000) > Math.floor(reported / 50_000)) opts.onProgress?.(done);
      reported = done;
    }
    await drain(Number.POSITIVE_INFINITY);
    await sealBatch();
  } finally {
    await pool.close();
  }
  stats.lastTxid = txid;
  return stats;
}
