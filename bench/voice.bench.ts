/**
 * The Twilio voice webhook (src/modules/intake-voice/), every request signed as Twilio signs it
 * (X-Twilio-Signature over PUBLIC_BASE_URL + path + query and the form fields), one request
 * counter per run so each "call" has its own CallSid:
 *
 * - `voice`: POST /twilio/voice, a fresh CallSid per request (a new call: the call row is created
 *   and locked in one transaction), answered with the greeting and the menu <Gather>;
 * - `menu`: that <Gather>'s action, POST /twilio/voice/menu?n=1 with Digits=1 (choose "report"),
 *   answered with the identity question (no database work: signature, form, TwiML);
 * - `identity`: the next <Gather>'s action, POST /twilio/voice/report/identity?n=1 with Digits=2
 *   (anonymous): one transaction on the call row;
 * - `recording`: the recording status callback, POST /twilio/voice/recording with
 *   RecordingStatus=completed and a fresh RecordingSid, for calls that went through the steps
 *   before <Record> (dial → menu 1 → identity → category → unit, as test/voice does). It registers
 *   the phone clue in the call's transaction and answers 204 only after the commit.
 *
 * Walking ~20 000 calls through five signed steps each would take longer than the measurement, so
 * two calls (one anonymous, one named) are walked through the real steps and their call rows —
 * the state the IVR leaves before <Record> — are cloned for the load's CallSids (even: anonymous,
 * odd: named with the caller's number sealed for that row, as `chooseIdentity` seals it).
 *
 * Targets: menu steps p99 < 20 ms; recording callback p99 < 50 ms, each 204 after the commit.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import twilio from 'twilio';
import { createHotlineContext } from '../src/modules/intake-voice/hotline.shared.ts';
import { drainOutbox } from './lib/checks.ts';
import { type LoadResult, type LoadSpec, runLoad } from './lib/load.ts';
import { type Benchmark, startFullApp } from './lib/setup.ts';
import { fieldsFor, type TwilioRequestData } from './lib/twilio-requests.ts';

const MENU_P99_MS = 20;
const RECORDING_P99_MS = 50;

const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = `bench-${randomBytes(12).toString('hex')}`;
const PUBLIC_BASE_URL = 'https://hotline.example.gov.cn';
const HOTLINE_NUMBER = '+861012345';
/** Calls prepared per second of load (warm-up included) for the recording phase: above any rate seen here. */
const PREPARED_PER_SECOND = 1500;
/** Fewer concurrent recording callbacks than the app's pool (20) has connections. */
const RECORDING_LOW_CONNECTIONS = 16;

export const voiceBenchmark: Benchmark = {
  name: 'voice',
  description: 'Twilio voice webhook: signed menu steps and the recording callback that registers the clue',
  async run({ db, settings, signal }) {
    const app = await startFullApp(db, {
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      PUBLIC_BASE_URL,
      // Nothing may leave the machine: no worker runs here, and downloads would go to a closed loopback port.
      TWILIO_API_BASE: 'http://127.0.0.1:9',
    });
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    try {
      const district = await app.deps.staff.createUnit({ code: 'bench-v-district', name: '普陀区', kind: 'district' });
      const street = await app.deps.staff.createUnit({ code: 'bench-v-street', name: '长风街道', kind: 'street', parentId: district.id });
      await app.deps.staff.createUnit({ code: 'bench-v-committee', name: '长风一村居委会', kind: 'residents_committee', parentId: street.id });

      const ctx = createHotlineContext({ ...app.deps, onOutboxWritten: () => app.deps.relay.kick() });
      const tag = randomBytes(12).toString('hex'); // 24 hex digits + 8 from the counter = a 34-character sid
      const callBase = { AccountSid: ACCOUNT_SID, To: HOTLINE_NUMBER, Called: HOTLINE_NUMBER, Direction: 'inbound', ApiVersion: '2010-04-01' };
      const spec = (path: string, expectStatus: number, fields: Record<string, string>, offset = 0): LoadSpec => {
        const data: TwilioRequestData = { authToken: AUTH_TOKEN, signedUrl: PUBLIC_BASE_URL + path, fields, offset };
        return {
          url: app.url + path,
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          requestBuilder: { module: new URL('./lib/twilio-requests.ts', import.meta.url).href, data },
          expectStatus,
          timeoutMs: 10_000,
          ...settings,
        };
      };
      /** One signed request, as Twilio sends it (for the scripted calls and the checks). */
      const post = async (path: string, fields: Record<string, string>) => {
        const res = await fetch(app.url + path, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_BASE_URL + path, fields),
          },
          body: new URLSearchParams(fields).toString(),
        });
        return { status: res.status, text: await res.text() };
      };

      // A call walked through the real steps up to <Record>, as test/voice/recording.test.ts does.
      const script = async (named: boolean) => {
        const CallSid = `CA${randomBytes(16).toString('hex')}`;
        const from = '+8613911112222';
        const base = { ...callBase, CallSid, From: from, Caller: from };
        const steps: [string, Record<string, string>, string][] = [
          ['/twilio/voice', { CallStatus: 'ringing' }, '/twilio/voice/menu'],
          ['/twilio/voice/menu?n=1', { CallStatus: 'in-progress', Digits: '1' }, '/twilio/voice/report/identity'],
          ['/twilio/voice/report/identity?n=1', { CallStatus: 'in-progress', Digits: named ? '1' : '2' }, '/twilio/voice/report/category'],
          ['/twilio/voice/report/category', { CallStatus: 'in-progress', Digits: '1' }, '/twilio/voice/report/unit'],
          ['/twilio/voice/report/unit', { CallStatus: 'in-progress', Digits: '1' }, '<Record'],
        ];
        for (const [path, extra, expect] of steps) {
          const res = await post(path, { ...base, ...extra });
          if (res.status !== 200 || !res.text.includes(expect)) throw new Error(`scripted call: ${path} answered ${res.status} without ${expect}: ${res.text.slice(0, 300)}`);
        }
        const [row] = (await pool.query<{ id: string; ivr: Record<string, unknown> }>('select id, ivr from "call" where sid_hash = $1', [ctx.sidHash('call', CallSid)])).rows;
        if (!row?.ivr.recordingIssued || row.ivr.unitId !== street.id || !!row.ivr.named !== named) throw new Error(`scripted call left ${JSON.stringify(row?.ivr)}`);
        return row.id;
      };
      const templates = [await script(false), await script(true)];

      const recordingFields = (sidTag: string): Record<string, string> => ({
        AccountSid: ACCOUNT_SID,
        CallSid: `CA${sidTag}{n}`,
        RecordingSid: `RE${sidTag}{n}`,
        RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/RE${sidTag}{n}`,
        RecordingDuration: '17',
        RecordingStatus: 'completed',
        RecordingChannels: '1',
        RecordingSource: 'RecordVerb',
      });
      /** Clones the scripted calls' rows for request numbers [from, from + count) of `data`. */
      const prepareCalls = async (data: TwilioRequestData, from: number, count: number) => {
        const now = new Date();
        for (let start = from; start < from + count; start += 5000) {
          const ids: string[] = [];
          const hashes: string[] = [];
          const boxes: (Buffer | null)[] = [];
          const tpl: string[] = [];
          for (let n = start; n < Math.min(from + count, start + 5000); n++) {
            const id = randomUUID();
            const named = n % 2 === 1;
            ids.push(id);
            hashes.push(ctx.sidHash('call', fieldsFor(data, n).CallSid!));
            boxes.push(named ? ctx.sealText(`+86139${String(n).padStart(8, '0')}`, `call:${id}`) : null);
            tpl.push(templates[named ? 1 : 0]!);
          }
          await pool.query(
            `insert into "call" (id, sid_hash, started_at, provider_status, hotline_number, withheld, chose_anonymous, caller_box, ivr, created_at, updated_at)
             select u.id, u.sid_hash, $5, t.provider_status, t.hotline_number, t.withheld, t.chose_anonymous, u.caller_box, t.ivr, $5, $5
             from unnest($1::uuid[], $2::text[], $3::bytea[], $4::uuid[]) as u(id, sid_hash, caller_box, tpl) join "call" t on t.id = u.tpl`,
            [ids, hashes, boxes, tpl, now],
          );
        }
      };

      const voiceFields = { ...callBase, CallSid: `CA${tag}{n}`, From: '+86139{d}', Caller: '+86139{d}', CallStatus: 'ringing' };
      const voiceSpec = spec('/twilio/voice', 200, voiceFields);
      const menuSpec = spec('/twilio/voice/menu?n=1', 200, { ...voiceFields, CallStatus: 'in-progress', Digits: '1' });
      const identitySpec = spec('/twilio/voice/report/identity?n=1', 200, { ...voiceFields, CallStatus: 'in-progress', Digits: '2' });
      // Two recording phases: at the run's connections, then at fewer connections than the pool has
      // (see the README: the callback holds one pooled connection while it waits for a second).
      const lowConnections = Math.min(settings.connections, RECORDING_LOW_CONNECTIONS);
      const recordingData = () => ({ authToken: AUTH_TOKEN, signedUrl: `${PUBLIC_BASE_URL}/twilio/voice/recording`, fields: recordingFields(randomBytes(12).toString('hex')) });
      const recData: TwilioRequestData = recordingData();
      const recLowData: TwilioRequestData = recordingData();
      const recordingSpec = spec('/twilio/voice/recording', 204, recData.fields);
      const recordingLowSpec = { ...spec('/twilio/voice/recording', 204, recLowData.fields), connections: lowConnections };
      const prepared = Math.ceil(PREPARED_PER_SECOND * (settings.warmupSeconds + settings.seconds));
      const prepStarted = performance.now();
      await prepareCalls(recData, 0, prepared);
      await prepareCalls(recLowData, 0, prepared);
      const prepareMs = Math.round(performance.now() - prepStarted);

      /** The app's transactions idle for over 2 s: each holds a pooled connection while its request waits. */
      const stuckTransactions = () =>
        count(pool, `select count(*)::int as n from pg_stat_activity where datname = current_database() and state = 'idle in transaction' and now() - state_change > interval '2 seconds'`);
      /**
       * A load that leaves transactions stuck has deadlocked the app's pool: confirm it lasts, then end
       * those transactions (their requests fail with 500, which Twilio would retry) so the run can go on.
       */
      const releaseDeadlock = async () => {
        const afterLoad = await stuckTransactions();
        if (afterLoad === 0) return null;
        await new Promise((r) => setTimeout(r, 3000));
        const stillStuck = await stuckTransactions();
        const terminated = await pool.query(
          `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and state = 'idle in transaction' and pid <> pg_backend_pid()`,
        );
        await new Promise((r) => setTimeout(r, 1000));
        return { stuckAfterLoad: afterLoad, stuck3sLater: stillStuck, terminated: terminated.rowCount ?? 0 };
      };

      // One after the other, never together. The voice phase creates the calls the next two continue.
      const results: Record<string, LoadResult> = {};
      results.voice = await runLoad(voiceSpec, signal);
      results.menu = await runLoad(menuSpec, signal);
      results.identity = await runLoad(identitySpec, signal);
      const linkedBefore = await count(pool, 'select count(*)::int as n from "call" where clue_id is not null');
      results.recording = await runLoad(recordingSpec, signal);
      const deadlock = await releaseDeadlock();
      await drainOutbox(app, signal);
      const linkedMid = await count(pool, 'select count(*)::int as n from "call" where clue_id is not null');
      const cluesMid = await count(pool, `select count(*)::int as n from clue where channel = 'phone'`);
      const lowLabel = `recording@${lowConnections}`;
      results[lowLabel] = await runLoad(recordingLowSpec, signal);
      const deadlockLow = await releaseDeadlock();
      const outbox = await drainOutbox(app, signal);

      // Nothing lost, nothing doubled: one phone clue per call that got its 204 (a clue whose call
      // transaction was ended above is registered but not linked; Twilio's retry would link it).
      const linked = await count(pool, 'select count(*)::int as n from "call" where clue_id is not null');
      const phoneClues = await count(pool, `select count(*)::int as n from clue where channel = 'phone'`);
      const namedClues = await count(pool, `select count(*)::int as n from clue where channel = 'phone' and named`);

      // Committed before answering: right after each 204 another connection must already see the clue.
      const probeData = recordingData();
      const PROBES = 50;
      await prepareCalls(probeData, 0, PROBES);
      let visibleAtAnswer = 0;
      for (let n = 0; n < PROBES; n++) {
        const fields = fieldsFor(probeData, n);
        const res = await post('/twilio/voice/recording', fields);
        if (res.status !== 204) throw new Error(`probe recording callback answered ${res.status}`);
        const seen = await pool.query('select 1 from "call" k join clue c on c.id = k.clue_id where k.sid_hash = $1', [ctx.sidHash('call', fields.CallSid!)]);
        if (seen.rowCount === 1) visibleAtAnswer++;
      }

      const menuSteps = ['voice', 'menu', 'identity'] as const;
      const recordingTarget = (r: LoadResult, stuck: typeof deadlock) => ({
        name: `recording callback p99 < ${RECORDING_P99_MS} ms at ${r.connections} connections`,
        ok: r.latencyMs.p99 < RECORDING_P99_MS && r.errors === 0 && !stuck,
        detail: stuck
          ? `DEADLOCK: ${stuck.stuck3sLater} transactions stuck holding the pool (${r.requests} answered in the window, errors ${r.errors})`
          : `p99 ${r.latencyMs.p99} ms, ${r.requestsPerSecond} clues/s, errors ${r.errors}`,
      });
      return {
        results,
        derived: {},
        targets: [
          ...menuSteps.map((k) => ({
            name: `${k} (menu step) p99 < ${MENU_P99_MS} ms at ${settings.connections} connections`,
            ok: results[k]!.latencyMs.p99 < MENU_P99_MS && results[k]!.errors === 0,
            detail: `p99 ${results[k]!.latencyMs.p99} ms, ${results[k]!.requestsPerSecond} req/s, errors ${results[k]!.errors}`,
          })),
          recordingTarget(results.recording, deadlock),
          recordingTarget(results[lowLabel]!, deadlockLow),
          {
            name: 'recording callback answers only after the clue is committed',
            ok: visibleAtAnswer === PROBES,
            detail: `${visibleAtAnswer}/${PROBES} clues visible to another connection as the 204 arrived`,
          },
        ],
        notes: {
          preparedCallsPerPhase: prepared,
          prepareMs,
          deadlock,
          deadlockLow,
          callsLinked: { recording: linkedMid - linkedBefore, [lowLabel]: linked - linkedMid },
          phoneClues: { recording: cluesMid, [lowLabel]: phoneClues - cluesMid },
          namedPhoneClues: namedClues,
          preparedCallsExhausted: Math.max(linkedMid - linkedBefore, linked - linkedMid) >= prepared,
          ...outbox,
        },
      };
    } finally {
      await pool.end().finally(() => app.close());
    }
  },
};

async function count(pool: pg.Pool, text: string): Promise<number> {
  return (await pool.query<{ n: number }>(text)).rows[0]?.n ?? 0;
}
