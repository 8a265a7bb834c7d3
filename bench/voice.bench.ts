/**
 * The Twilio voice webhook (src/modules/intake-voice/), every request signed as Twilio signs it
 * (X-Twilio-Signature over PUBLIC_BASE_URL + path + query and the form fields), one request
 * counter per run so each "call" has its own CallSid:
 *
 * - `baseline`: the floor on this machine (lib/baseline.ts): bare Hono and ONE plain INSERT
 *   through a `pg` pool per request, same connections; what any step with a database write is
 *   measured against;
 * - `voice`: POST /twilio/voice, a fresh CallSid per request (a new call: the call row is inserted,
 *   one statement shared by the calls starting together), answered with the greeting and the menu;
 * - `menu`: that <Gather>'s action, POST /twilio/voice/menu?n=1 with Digits=1 (choose "report"),
 *   answered with the identity question (no database work: signature, form, TwiML);
 * - `identity`: the next <Gather>'s action, POST /twilio/voice/report/identity?n=1 with Digits=2
 *   (anonymous): one upsert of the call row.
 *   Both go round the calls the `voice` phase started (request n is call n modulo their number);
 * - `recording`: the recording status callback, POST /twilio/voice/recording with
 *   RecordingStatus=completed and a fresh RecordingSid, for calls that went through the steps
 *   before <Record> (dial → menu 1 → identity → category → unit, as test/voice does). It reads the
 *   call, registers the phone clue (group commit), links the call and queues the download, and
 *   answers 204 only after both have committed.
 *
 * Walking ~20 000 calls through five signed steps each would take longer than the measurement, so
 * two calls (one anonymous, one named) are walked through the real steps and their call rows —
 * the state the IVR leaves before <Record> — are cloned for the load's CallSids (even: anonymous,
 * odd: named with the caller's number sealed for that call, as `chooseIdentity` seals it).
 *
 * The recording callback is driven twice: at 16 connections (fewer than the app's 20 pooled
 * connections) and at the run's connections (32). The 32-connection phase runs last, on an app of
 * its own: an earlier version held the call's transaction while registering and deadlocked there
 * (bench/README "voice"); if transactions are stuck 3 s after the load, it is reported as a
 * deadlock and that app is abandoned (its backends terminated, its Redis keys and folder removed).
 *
 * Targets: menu steps p99 < 20 ms; recording callback p99 < 50 ms, each 204 after the commit.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import pg from 'pg';
import twilio from 'twilio';
import { createHotlineHashing, type HotlineHashing } from '../src/modules/intake-voice/hotline.hashing.ts';
import { startBaseline } from './lib/baseline.ts';
import { drainOutbox } from './lib/checks.ts';
import { type LoadResult, type LoadSpec, runLoad } from './lib/load.ts';
import { deleteKeys } from './lib/redis-keys.ts';
import { type Benchmark, startFullApp } from './lib/setup.ts';
import { fieldsFor, type TwilioRequestData } from './lib/twilio-requests.ts';

const MENU_P99_MS = 20;
const RECORDING_P99_MS = 50;

const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = `bench-${randomBytes(12).toString('hex')}`;
const PUBLIC_BASE_URL = 'https://hotline.example.gov.cn';
const HOTLINE_NUMBER = '+861012345';
/** Calls prepared per second of load (warm-up included) for a recording phase: above any rate seen here. */
const PREPARED_PER_SECOND = 1500;
/** Fewer concurrent recording callbacks than the app's pool (DATABASE_POOL_MAX 20) has connections. */
const RECORDING_LOW_CONNECTIONS = 16;
const RECORDING_PATH = '/twilio/voice/recording';

type App = Awaited<ReturnType<typeof startFullApp>>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const voiceBenchmark: Benchmark = {
  name: 'voice',
  description: 'Twilio voice webhook: signed menu steps and the recording callback that registers the clue',
  async run({ db, settings, signal }) {
    // Both apps share the keys, so a CallSid hashes and a number seals the same for either.
    const env = {
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      PUBLIC_BASE_URL,
      // Nothing may leave the machine: no worker runs here, and downloads would go to a closed loopback port.
      TWILIO_API_BASE: 'http://127.0.0.1:9',
      REPORTER_KEY: randomBytes(32).toString('base64'),
      SECRET_HMAC_KEY: randomBytes(32).toString('base64'),
    };
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    let app: App | undefined = await startFullApp(db, env);
    try {
      const district = await app.deps.staff.seedUnit({ code: 'bench-v-district', name: '普陀区', kind: 'district' });
      const street = await app.deps.staff.seedUnit({ code: 'bench-v-street', name: '长风街道', kind: 'street', parentId: district.id });
      await app.deps.staff.seedUnit({ code: 'bench-v-committee', name: '长风一村居委会', kind: 'residents_committee', parentId: street.id });
      const ctx = createHotlineHashing(app.deps.keys);
      const h = helpers(pool, ctx);

      /** One signed request, as Twilio sends it (for the scripted calls and the checks). */
      const post = async (target: App, path: string, fields: Record<string, string>) => {
        const res = await fetch(target.url + path, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_BASE_URL + path, fields),
          },
          body: new URLSearchParams(fields).toString(),
        });
        return { status: res.status, text: await res.text() };
      };
      const spec = (target: App, path: string, expectStatus: number, fields: Record<string, string>, connections = settings.connections, modulo?: number): LoadSpec => ({
        ...settings,
        connections,
        url: target.url + path,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        requestBuilder: { module: new URL('./lib/twilio-requests.ts', import.meta.url).href, data: { authToken: AUTH_TOKEN, signedUrl: PUBLIC_BASE_URL + path, fields, modulo } satisfies TwilioRequestData },
        expectStatus,
        timeoutMs: 10_000,
        database: db.name,
      });

      // Two calls walked through the real steps up to <Record>, as test/voice/recording.test.ts does.
      const callBase = { AccountSid: ACCOUNT_SID, To: HOTLINE_NUMBER, Called: HOTLINE_NUMBER, Direction: 'inbound', ApiVersion: '2010-04-01' };
      // The caller picks our street by its place in the spoken list (streets by code; other
      // benchmarks in the same run may have added theirs).
      const streets = (await pool.query<{ id: string }>(`select id from unit where kind in ('street', 'town') order by code limit 99`)).rows;
      const streetDigit = String(streets.findIndex((u) => u.id === street.id) + 1);
      const script = async (named: boolean) => {
        const CallSid = `CA${randomBytes(16).toString('hex')}`;
        const base = { ...callBase, CallSid, From: '+8613911112222', Caller: '+8613911112222' };
        const steps: [string, Record<string, string>, string][] = [
          ['/twilio/voice', { CallStatus: 'ringing' }, '/twilio/voice/menu'],
          ['/twilio/voice/menu?n=1', { CallStatus: 'in-progress', Digits: '1' }, '/twilio/voice/report/identity'],
          ['/twilio/voice/report/identity?n=1', { CallStatus: 'in-progress', Digits: named ? '1' : '2' }, '/twilio/voice/report/category'],
          ['/twilio/voice/report/category', { CallStatus: 'in-progress', Digits: '1' }, '/twilio/voice/report/unit'],
          ['/twilio/voice/report/unit', { CallStatus: 'in-progress', Digits: streetDigit }, '<Record'],
        ];
        for (const [path, extra, expect] of steps) {
          const res = await post(app!, path, { ...base, ...extra });
          if (res.status !== 200 || !res.text.includes(expect)) throw new Error(`scripted call: ${path} answered ${res.status} without ${expect}: ${res.text.slice(0, 300)}`);
        }
        const [row] = (await pool.query<{ id: string; ivr: Record<string, unknown> }>('select id, ivr from "call" where sid_hash = $1', [ctx.sidHash('call', CallSid)])).rows;
        if (!row?.ivr.recordingIssued || row.ivr.unitId !== street.id || !!row.ivr.named !== named) throw new Error(`scripted call left ${JSON.stringify(row?.ivr)}`);
        return row.id;
      };
      const templates: [string, string] = [await script(false), await script(true)];

      const prepared = Math.ceil(PREPARED_PER_SECOND * (settings.warmupSeconds + settings.seconds));
      const lowConnections = Math.min(settings.connections, RECORDING_LOW_CONNECTIONS);
      const recLow = h.recordingData();
      const recHigh = h.recordingData();
      const prepStarted = performance.now();
      await h.prepareCalls(recLow, prepared, templates);
      await h.prepareCalls(recHigh, prepared, templates);
      const prepareMs = Math.round(performance.now() - prepStarted);

      // One after the other, never together. The voice phase creates the calls the next two continue.
      const voiceFields = { ...callBase, CallSid: `CA${randomBytes(12).toString('hex')}{n}`, From: '+86139{d}', Caller: '+86139{d}', CallStatus: 'ringing' };
      const results: Record<string, LoadResult> = {};
      const baseline = await startBaseline(db);
      try {
        results.baseline = await runLoad(
          { ...settings, url: baseline.url, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'phone', narrative: 'bench' }), expectStatus: 201, timeoutMs: 10_000, database: db.name },
          signal,
        );
      } finally {
        await baseline.close();
      }
      const writesBefore = app.deps.hotline.callWriteStats();
      const callRows = () => h.count('select count(*)::int as n from "call"');
      const callsBefore = await callRows();
      results.voice = await runLoad(spec(app, '/twilio/voice', 200, voiceFields), signal);
      // The gather steps go round the calls the voice phase started (request n → call n % started).
      const started = (await callRows()) - callsBefore;
      const gather = (path: string, digits: string) => spec(app!, path, 200, { ...voiceFields, CallStatus: 'in-progress', Digits: digits }, settings.connections, started);
      results.menu = await runLoad(gather('/twilio/voice/menu?n=1', '1'), signal);
      results.identity = await runLoad(gather('/twilio/voice/report/identity?n=1', '2'), signal);
      const callsCreatedByGather = (await callRows()) - callsBefore - started;
      const writesAfter = app.deps.hotline.callWriteStats();
      const callWrites = {
        statements: writesAfter.batches - writesBefore.batches,
        steps: writesAfter.items - writesBefore.items,
        meanPerStatement: Math.round(((writesAfter.items - writesBefore.items) / Math.max(1, writesAfter.batches - writesBefore.batches)) * 10) / 10,
        largest: writesAfter.largestBatch,
        retriedAlone: writesAfter.retriedAlone - writesBefore.retriedAlone,
      };
      const registrationsBefore = app.deps.clues.registrationStats();

      const lowLabel = `rec@${lowConnections}`;
      let before = await h.counts();
      results[lowLabel] = await runLoad(spec(app, RECORDING_PATH, 204, recLow.fields, lowConnections), signal);
      const deadlockLow = await h.stuckAfterLoad();
      if (deadlockLow) throw new Error(`the app deadlocked at ${lowConnections} connections: ${JSON.stringify(deadlockLow)}`);
      const outbox = await drainOutbox(app, signal);
      let after = await h.counts();
      const registrationsAfter = app.deps.clues.registrationStats();
      const low = {
        callsLinked: after.linked - before.linked,
        phoneClues: after.clues - before.clues,
        registrationStatements: registrationsAfter.batches - registrationsBefore.batches,
        registrationsPerStatement: Math.round(((registrationsAfter.items - registrationsBefore.items) / Math.max(1, registrationsAfter.batches - registrationsBefore.batches)) * 10) / 10,
      };

      // Committed before answering: right after each 204 another connection must already see the clue.
      const probe = h.recordingData();
      const PROBES = 50;
      await h.prepareCalls(probe, PROBES, templates);
      let visibleAtAnswer = 0;
      for (let n = 0; n < PROBES; n++) {
        const fields = fieldsFor(probe, n);
        const res = await post(app, RECORDING_PATH, fields);
        if (res.status !== 204) throw new Error(`probe recording callback answered ${res.status}`);
        if (await h.clueOf(fields.CallSid!)) visibleAtAnswer++;
      }
      const namedPhoneClues = (await pool.query<{ n: number }>(`select count(*)::int as n from clue where channel = 'phone' and named`)).rows[0]!.n;
      await app.close();
      app = undefined;

      // Last, on an app of its own: the run's connections, possibly more than the pool has.
      const highLabel = `rec@${settings.connections}`;
      const high = await startFullApp(db, env);
      let deadlock: Awaited<ReturnType<typeof h.stuckAfterLoad>> = null;
      let highClose: 'closed' | 'abandoned' = 'closed';
      try {
        before = await h.counts();
        results[highLabel] = await runLoad(spec(high, RECORDING_PATH, 204, recHigh.fields), signal);
        deadlock = await h.stuckAfterLoad();
      } finally {
        // A deadlocked pool waits forever for connections its own transactions hold: end those
        // transactions (their requests fail), give close() a few seconds (it waits on the same pool,
        // also after a Ctrl-C mid-phase), then remove what it would have removed.
        if (deadlock) await h.terminateStuck();
        highClose = await closeOrAbandon(high);
      }
      after = await h.counts();
      const highCounts = { callsLinked: after.linked - before.linked, phoneClues: after.clues - before.clues };

      const recordingTarget = (r: LoadResult, stuck: typeof deadlock) => ({
        name: `recording callback p99 < ${RECORDING_P99_MS} ms at ${r.connections} connections`,
        ok: r.latencyMs.p99 < RECORDING_P99_MS && r.errors === 0 && !stuck,
        detail: stuck
          ? `DEADLOCK: ${stuck.stuck} transactions held the pool ${stuck.afterMs} ms after the load and did not move; ${r.requests} answered in the window, ${Object.values(r.errorKinds).reduce((a, b) => a + b, 0)} requests failed or timed out`
          : `p99 ${r.latencyMs.p99} ms, ${r.requestsPerSecond} clues/s, errors ${r.errors}`,
      });
      const menuSteps = ['voice', 'menu', 'identity'] as const;
      const base = results.baseline!;
      return {
        results,
        derived: {},
        targets: [
          ...menuSteps.map((k) => ({
            name: `${k} (menu step) p99 < ${MENU_P99_MS} ms at ${settings.connections} connections`,
            ok: results[k]!.latencyMs.p99 < MENU_P99_MS && results[k]!.errors === 0,
            detail: `p99 ${results[k]!.latencyMs.p99} ms, ${results[k]!.requestsPerSecond} req/s, errors ${results[k]!.errors}`,
          })),
          recordingTarget(results[lowLabel]!, deadlockLow),
          recordingTarget(results[highLabel]!, deadlock),
          {
            name: 'recording callback answers only after the clue is committed',
            ok: visibleAtAnswer === PROBES,
            detail: `${visibleAtAnswer}/${PROBES} clues visible to another connection as the 204 arrived`,
          },
          {
            name: `one clue per answered recording at ${lowConnections} connections`,
            ok: low.callsLinked === low.phoneClues,
            detail: `${low.callsLinked} calls linked to a clue, ${low.phoneClues} phone clues`,
          },
        ],
        notes: {
          baseline: `bare Hono + one INSERT: ${base.requestsPerSecond} req/s, p50 ${base.latencyMs.p50} / p99 ${base.latencyMs.p99} ms`,
          callWrites,
          callsStarted: started,
          callsCreatedByGatherSteps: callsCreatedByGather,
          preparedCallsPerPhase: prepared,
          prepareMs,
          [lowLabel]: { ...low, exhausted: low.callsLinked >= prepared },
          [highLabel]: { ...highCounts, deadlock, app: highClose },
          namedPhoneClues,
          ...outbox,
        },
      };
    } finally {
      await pool.end().finally(() => app && closeOrAbandon(app));
    }
  },
};

/**
 * `app.close()`, given 10 s: a deadlocked app's close waits forever on its own pool. Then its
 * Redis keys and data folder are removed here instead, and the app is left to the process exit.
 */
async function closeOrAbandon(app: App): Promise<'closed' | 'abandoned'> {
  const closed = await Promise.race([app.close().then(() => true, () => true), sleep(10_000).then(() => false)]);
  if (closed) return 'closed';
  await deleteKeys(`{${app.deps.config.QUEUE_PREFIX}}:*`);
  rmSync(app.dataDir, { recursive: true, force: true });
  return 'abandoned';
}

/** Database-side helpers: preparing calls, counting clues, spotting a pool deadlock. */
function helpers(pool: pg.Pool, ctx: HotlineHashing) {
  const count = async (text: string) => (await pool.query<{ n: number }>(text)).rows[0]?.n ?? 0;
  /** App transactions idle for over 2 s: each holds a pooled connection while its request waits for something else. */
  const stuck = () =>
    count(`select count(*)::int as n from pg_stat_activity where datname = current_database() and state = 'idle in transaction' and now() - state_change > interval '2 seconds'`);

  return {
    count,

    /** A recording phase's requests: CallSid and RecordingSid from the counter under a fresh tag. */
    recordingData(): TwilioRequestData {
      const tag = randomBytes(12).toString('hex'); // 24 hex digits + 8 from the counter = a 34-character sid
      return {
        authToken: AUTH_TOKEN,
        signedUrl: PUBLIC_BASE_URL + RECORDING_PATH,
        fields: {
          AccountSid: ACCOUNT_SID,
          CallSid: `CA${tag}{n}`,
          RecordingSid: `RE${tag}{n}`,
          RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/RE${tag}{n}`,
          RecordingDuration: '17',
          RecordingStatus: 'completed',
          RecordingChannels: '1',
          RecordingSource: 'RecordVerb',
        },
      };
    },

    /** Clones the scripted calls' rows (`templates`: anonymous, named) for request numbers 0 … count − 1 of `data`. */
    async prepareCalls(data: TwilioRequestData, total: number, templates: [string, string]) {
      const now = new Date();
      for (let start = 0; start < total; start += 5000) {
        const ids: string[] = [];
        const hashes: string[] = [];
        const boxes: (Buffer | null)[] = [];
        const tpl: string[] = [];
        for (let n = start; n < Math.min(total, start + 5000); n++) {
          const id = randomUUID();
          const named = n % 2 === 1;
          const hash = ctx.sidHash('call', fieldsFor(data, n).CallSid!);
          ids.push(id);
          hashes.push(hash);
          boxes.push(named ? ctx.sealText(`+86139${String(n).padStart(8, '0')}`, `call-sid:${hash}`) : null);
          tpl.push(templates[named ? 1 : 0]);
        }
        await pool.query(
          `insert into "call" (id, sid_hash, started_at, provider_status, hotline_number, withheld, chose_anonymous, caller_box, ivr, created_at, updated_at)
           select u.id, u.sid_hash, $5, t.provider_status, t.hotline_number, t.withheld, t.chose_anonymous, u.caller_box, t.ivr, $5, $5
           from unnest($1::uuid[], $2::text[], $3::bytea[], $4::uuid[]) as u(id, sid_hash, caller_box, tpl) join "call" t on t.id = u.tpl`,
          [ids, hashes, boxes, tpl, now],
        );
      }
    },

    async counts() {
      return {
        linked: await count('select count(*)::int as n from "call" where clue_id is not null'),
        clues: await count(`select count(*)::int as n from clue where channel = 'phone'`),
      };
    },

    async clueOf(callSid: string) {
      const r = await pool.query('select c.id from "call" k join clue c on c.id = k.clue_id where k.sid_hash = $1', [ctx.sidHash('call', callSid)]);
      return r.rowCount === 1;
    },

    /** After a load: transactions still stuck 3 s later mean the app's pool deadlocked. */
    async stuckAfterLoad(): Promise<{ stuck: number; afterMs: number } | null> {
      if ((await stuck()) === 0) return null;
      await sleep(3000);
      const still = await stuck();
      return still > 0 ? { stuck: still, afterMs: 3000 } : null;
    },

    async terminateStuck() {
      await pool.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and state = 'idle in transaction' and pid <> pg_backend_pid()`);
    },
  };
}

