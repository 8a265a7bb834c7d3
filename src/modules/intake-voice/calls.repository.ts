/**
 * The call row's hot statements, as raw SQL with bound parameters (the IVR's per-step path, so it
 * bypasses the unit of work): the upsert every choice-recording step is, and the two statements of
 * a recording callback around the clue's registration; then the writer that sends them
 * (`createCallsRepository`: the group-committed upsert, and `withCall`, the locked read).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../app/clock.ts';
import { type Em, type Orm, sqlBound, valuesList } from '../../app/db.ts';
import { createGroupCommit } from '../../app/group-commit.ts';
import { callerAad, type HotlineHashing } from './hotline.hashing.ts';
import { Call, type IvrState, unansweredOutcomes } from './voice.entity.ts';
import { type CallRef, isWithheld } from './voice.schemas.ts';

/** One step's change to a call row, and (after the write) what the row then says. */
export interface CallUpsert {
  /** Used only if this creates the row. */
  id: string;
  hash: string;
  now: Date;
  withheld: boolean;
  hotline: string | null;
  /** JSON merged into the IVR state (`ivr || patch`). */
  ivr: string;
  /**
   * The caller chose anonymity. Only the identity choice (the one step whose patch holds `named`)
   * sets `chose_anonymous` and the sealed caller ID.
   */
  anonymous: boolean;
  /** Sealed caller ID of a named caller whose number is shown; null otherwise. */
  box: Buffer | null;
  row?: CallUpsertRow;
}

export interface CallUpsertRow {
  sid_hash: string;
  id: string;
  withheld: boolean;
  /** The IVR's `named` after the step (null: not chosen yet). */
  named: boolean | null;
}

/**
 * One statement for one or many steps (of different calls). A new call is inserted as any step
 * finds it; an existing one gets the patch merged under the row lock the upsert takes. The identity
 * choice also sets `chose_anonymous`, and the sealed caller ID only while the call is live and has
 * no clue (a late repeat never brings a number back); choosing anonymity always erases it.
 */
export function callUpsertStatement(items: CallUpsert[]): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const values = valuesList(
    params,
    items.map((it) => [it.id, it.hash, it.now, it.withheld, it.anonymous, it.box, it.ivr, it.hotline]),
    ['::uuid', undefined, '::timestamptz', '::boolean', '::boolean', '::bytea', '::jsonb', undefined],
  );
  const text = `with v (id, sid_hash, at, withheld, anonymous, box, ivr, hotline) as (values ${values})
    insert into "call" as k (id, sid_hash, started_at, withheld, chose_anonymous, caller_box, ivr, hotline_number, created_at, updated_at)
    select id, sid_hash, at, withheld, anonymous, box, ivr, hotline, at, at from v
    on conflict (sid_hash) do update set
      ivr = k.ivr || excluded.ivr,
      chose_anonymous = case when excluded.ivr ? 'named' then excluded.chose_anonymous else k.chose_anonymous end,
      caller_box = case
        when not (excluded.ivr ? 'named') then k.caller_box
        when excluded.chose_anonymous then null
        when k.ended_at is null and k.clue_id is null then excluded.caller_box
        else k.caller_box end,
      updated_at = excluded.updated_at
    returning k.sid_hash, k.id, k.withheld, (k.ivr -> 'named')::boolean as named`;
  return { text, params };
}

/** What a recording callback needs of its call, read without a lock. */
export interface RecordingCallRow {
  id: string;
  sid_hash: string;
  /** The drivers hand raw timestamps over as text (or a Date): `new Date(…)` takes both. */
  started_at: Date | string;
  ended_at: Date | string | null;
  outcome: string | null;
  callback_id: string | null;
  caller_box: Buffer | null;
  ivr: { named?: boolean; category?: string | null; unitId?: string | null };
  clue_id: string | null;
}

/**
 * Reads the calls of several recording callbacks at once (one statement for the callbacks arriving
 * together). A join to the clue for its code would cost every read a join's planning; only repeats
 * need the code, and read it apart.
 */
export function recordingCallsRead(hashes: string[]): { text: string; params: unknown[] } {
  return {
    text: `select id, sid_hash, started_at, ended_at, outcome, callback_id, caller_box, ivr, clue_id from "call" where sid_hash = any($1::text[])`,
    params: [hashes],
  };
}

export interface RecordingLink {
  hash: string;
  clueId: string;
  recordingSid: string;
  recordingUrl: string;
  now: Date;
  /** After the write: this item linked its call (and queued the download). */
  linked?: boolean;
}

const UNANSWERED = unansweredOutcomes.map((o) => `'${o}'`).join(', ');

/**
 * Links registered clues to their calls and queues each recording's download, in ONE statement for
 * the callbacks arriving together (atomic without an explicit transaction). Only a call that
 * exists, has no clue yet and was not given up as unanswered with a call-back owed is linked (that
 * case withdraws the call-back, under the row lock, in a transaction of its own). A call not in the
 * result: one of those cases, or a concurrent callback linked it first.
 */
export function recordingLinkStatement(items: RecordingLink[]): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const values = valuesList(
    params,
    items.map((it) => [it.hash, it.clueId, it.recordingSid, it.recordingUrl, it.now]),
    [undefined, '::uuid', undefined, undefined, '::timestamptz'],
  );
  // Two callbacks of one call in a batch carry the same clue (the intake key) and recording:
  // UPDATE … FROM updates the row once, with either.
  const text = `with v (hash, clue_id, recording_sid, recording_url, at) as (values ${values}),
    linked as (
      update "call" k set clue_id = v.clue_id, caller_box = null, recording_sid = v.recording_sid, recording_url = v.recording_url,
        ivr = k.ivr || '{"recordingIssued": true}'::jsonb,
        outcome = case when k.ended_at is not null then 'report' else k.outcome end,
        updated_at = v.at
      from v
      where k.sid_hash = v.hash and k.clue_id is null
        and not (k.callback_id is not null and k.ended_at is not null and coalesce(k.outcome in (${UNANSWERED}), false))
      returning k.id, k.sid_hash, v.at
    ), job as (
      insert into outbox_message (queue, job_name, job_id, payload, delay_ms, created_at, attempts)
      select 'hotline', 'recording.fetch', 'rec-' || id, jsonb_build_object('callId', id), 0, at, 0 from linked
      on conflict (job_id) do nothing
    )
    select sid_hash from linked`;
  return { text, params };
}

/**
 * The call rows of the IVR's steps: the pooled upsert of the steps that only record a choice, and
 * the locked read (`withCall`) of the steps that decide from the call's state.
 */
export function createCallsRepository(deps: { orm: Orm; clock: Clock; hashing: Pick<HotlineHashing, 'sidHash' | 'sealText'> }) {
  const { orm, clock } = deps;
  const { sidHash, sealText } = deps.hashing;

  /** The insert half of every call-row upsert: a call we hear of for the first time starts now. */
  function newCallValues(call: CallRef, hash: string, now: Date) {
    return { id: randomUUID(), hash, now, withheld: isWithheld(call.from), hotline: (call.to ?? '').slice(0, 32) || null };
  }

  /** The call's keyed CallSid hash, the row's key (voice.schemas.ts `callFields` refuses a request without a CallSid). */
  function callHash(call: CallRef): string {
    return sidHash('call', call.sid);
  }

  /**
   * IVR steps that only record a choice: ONE statement each, no explicit transaction. The row is
   * created if this is the first we hear of the call (any webhook may be: the incoming one may have
   * failed), else the change is merged into it atomically (`ivr || patch` under the row lock the
   * upsert takes). Concurrent steps' upserts go out together (group commit): one statement, one
   * commit for all of them; a batch that fails (two steps of one call in it) is retried item by item.
   * One batch in flight: the statement takes about a millisecond, and while it is out the next batch
   * fills, so under load there are half the statements of two in flight (bench/README "voice").
   */
  const callWrites = createGroupCommit<CallUpsert>({
    maxBatch: 64,
    maxInFlight: 1,
    write: async (items) => {
      const { text, params } = callUpsertStatement(items);
      const rows = await sqlBound<CallUpsertRow>(pooled(), text, params);
      const byHash = new Map(rows.map((r) => [r.sid_hash, r]));
      for (const item of items) item.row = byHash.get(item.hash);
    },
  });

  async function upsertCall(call: CallRef, change: { ivr?: IvrState; identity?: { named: boolean } } = {}): Promise<CallUpsertRow> {
    const hash = callHash(call);
    const v = newCallValues(call, hash, clock.now());
    let box: Buffer | null = null;
    const ivr: IvrState = { ...change.ivr };
    if (change.identity) {
      ivr.named = change.identity.named;
      // Named, number shown: the caller ID is sealed, bound to this call, until the clue takes it.
      if (change.identity.named && !v.withheld) box = sealText(call.from!, callerAad(hash));
    }
    const item: CallUpsert = { ...v, ivr: JSON.stringify(ivr), anonymous: change.identity ? !change.identity.named : false, box };
    await callWrites.submit(item);
    if (!item.row) throw new Error('call upsert returned no row');
    return item.row;
  }

  /**
   * Runs `fn` in a transaction holding the call's row lock, for the steps that decide something from
   * the call's state (PIN confirmation, status queries, the status callback, call-backs). One upsert
   * both creates the row on first sight and locks it (`on conflict do update … returning`), so the
   * transaction is begin, that statement, what `fn` does, one update if `fn` changed the row, commit.
   */
  async function withCall<T>(ref: CallRef, fn: (tx: Em, call: Call) => Promise<T>): Promise<T> {
    const hash = callHash(ref);
    const v = newCallValues(ref, hash, clock.now());
    return orm.em.fork().transactional(async (tx) => {
      const [row] = await sqlBound<Record<string, unknown>>(
        tx,
        `insert into "call" (id, sid_hash, started_at, withheld, chose_anonymous, ivr, hotline_number, created_at, updated_at)
         values ($1, $2, $3, $4, false, '{}', $5, $3, $3)
         on conflict (sid_hash) do update set updated_at = excluded.updated_at
         returning *`,
        [v.id, hash, v.now, v.withheld, v.hotline],
      );
      const call = tx.map(Call, row!);
      return fn(tx, call);
    });
  }

  /** Pool-bound (outside any transaction) entity manager for single statements. */
  function pooled(): Em {
    return orm.em.fork();
  }

  return { pooled, callHash, upsertCall, withCall, callWritesStats: callWrites.stats };
}

export type CallsRepository = ReturnType<typeof createCallsRepository>;
