import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../../src/roots/worker.ts';
import { createTestApp, seedTree, type TestEnv } from '../helpers.ts';
import { type FakeTwilio, startFakeTwilio } from './fake-twilio.ts';
import { ACCOUNT_SID, AUTH_TOKEN, SimCall, sid, twilioClient, twilioEnv, until } from './twilio-sim.ts';

let t: TestEnv;
let fake: FakeTwilio;
let stopWorkers: () => Promise<void>;

beforeAll(async () => {
  fake = await startFakeTwilio(ACCOUNT_SID, AUTH_TOKEN);
  t = await createTestApp(twilioEnv(fake, { RECORDING_FETCH_ATTEMPTS: '2', TWILIO_DELETE_RECORDINGS: 'true' }));
  await seedTree(t);
  stopWorkers = await startWorkers(t.deps);
});
afterAll(async () => {
  await stopWorkers?.();
  await t?.close();
  await fake?.close();
});

type ClueRow = { id: string; flags: string[] };

describe('recording retrieval that fails', () => {
  it('retries with backoff, then leaves the clue registered and flagged recording_missing', async () => {
    fake.state.failRecordings = true;
    const call = new SimCall(t, '+8613511112222');
    await call.dial();
    await call.press('1');
    await call.press('2');
    await call.press('');
    await call.press('');
    await call.record(fake, Buffer.from('ID3 never fetched'));
    const [clue] = await t.db.query<ClueRow>('select id, flags from clue');
    expect(clue!.flags).toEqual([]);
    const flagged = await until(() => t.db.query<ClueRow>('select id, flags from clue where id = $1', [clue!.id]), (r) => r[0]!.flags.length > 0, 20_000);
    expect(flagged[0]!.flags).toEqual(['recording_missing']);
    const downloads = fake.requests.filter((r) => r.method === 'GET' && r.path.includes('/Recordings/'));
    expect(downloads).toHaveLength(2);
    const events = await t.db.query<{ type: string; data: Record<string, unknown> }>('select type, data from ledger_event where clue_id = $1 order by seq', [clue!.id]);
    expect(events.filter((e) => e.type === 'clue.flagged').map((e) => e.data.flag)).toEqual(['recording_missing']);
    expect(events.some((e) => e.type === 'attachment.added')).toBe(false);
    // Nothing was deleted at the provider: the recording is still there to fetch by hand.
    expect(fake.deleted).toEqual([]);
    const staff = await t.staffMember('op', 'operator', (await t.db.query<{ id: string }>(`select id from unit where code = 'd'`))[0]!.id);
    const list = await t.call('GET', '/api/v1/staff/clues?channel=phone', { token: staff.token });
    expect(list.json.items[0].flags).toEqual(['recording_missing']);
  });

  it('a named caller who hangs up at the beep, before the recording callback says "absent", is owed a call-back', async () => {
    const caller = '+8613511114444';
    const call = new SimCall(t, caller);
    await call.dial();
    await call.press('1');
    await call.press('1'); // named
    await call.press('');
    await call.press('');
    const record = call.doc!.children.find((c) => c.name === 'Record')!;
    await call.hangup('completed');
    const pending = await t.db.query<{ id: string; outcome: string; caller_box: Buffer | null }>(`select id, outcome, caller_box from "call" order by started_at desc, created_at desc limit 1`);
    // The recording may still come: no call-back yet, the sealed number waits for it.
    expect(pending[0]).toMatchObject({ outcome: 'report' });
    expect(pending[0]!.caller_box).not.toBeNull();
    expect(await t.db.query('select id from callback')).toHaveLength(0);

    const res = await twilioClient(t).post(record.attrs.recordingStatusCallback!, { AccountSid: ACCOUNT_SID, CallSid: call.callSid, RecordingSid: sid('RE'), RecordingStatus: 'absent' });
    expect(res.status).toBe(204);
    const [after] = await t.db.query<{ outcome: string; caller_box: Buffer | null; callback_id: string | null }>('select outcome, caller_box, callback_id from "call" where id = $1', [pending[0]!.id]);
    expect(after).toMatchObject({ outcome: 'abandoned', caller_box: null });
    const [cb] = await t.db.query<{ id: string; reason: string; state: string }>('select id, reason, state from callback');
    expect(cb).toMatchObject({ id: after!.callback_id, reason: 'abandoned', state: 'open' });
    const unit = (await t.db.query<{ id: string }>(`select id from unit where code = 'd'`))[0]!.id;
    const { token } = await t.staffMember('op2', 'operator', unit);
    const number = await t.call('POST', `/api/v1/staff/callbacks/${cb!.id}/number`, { token });
    expect(number.json.number).toBe(caller);
  });

  it('never sends the account credentials to a host that is not the provider', async () => {
    let hits = 0;
    const foreign = createServer((_req, res) => {
      hits++;
      res.end('x');
    });
    await new Promise<void>((r) => foreign.listen(0, '127.0.0.1', r));
    const { port } = foreign.address() as AddressInfo;
    try {
      const call = new SimCall(t, '+8613511113333');
      await call.dial();
      await call.press('1');
      await call.press('2');
      await call.press('');
      await call.press('');
      const rec = sid('RE');
      const res = await twilioClient(t).post('https://hotline.example.gov.cn/twilio/voice/recording', {
        AccountSid: ACCOUNT_SID,
        CallSid: call.callSid,
        RecordingSid: rec,
        RecordingUrl: `http://127.0.0.1:${port}/steal`,
        RecordingStatus: 'completed',
      });
      expect(res.status).toBe(204);
      const [row] = await t.db.query<{ clue_id: string }>('select clue_id from "call" where recording_sid = $1', [rec]);
      const flagged = await until(() => t.db.query<ClueRow>('select id, flags from clue where id = $1', [row!.clue_id]), (r) => r[0]!.flags.length > 0);
      expect(flagged[0]!.flags).toEqual(['recording_missing']);
      expect(hits).toBe(0);
    } finally {
      await new Promise((r) => foreign.close(r));
    }
  });
});
