import { createSecretKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../app/logger.ts';
import { createSmsSpool } from './sms.spool.ts';
import type { SmsInput } from './voice.schemas.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A spool on a real folder; `receive` stands for the registration, answering as told. */
function spool(answer: (input: SmsInput) => Promise<unknown> = async () => undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'sms-spool-'));
  dirs.push(dir);
  const received: { input: SmsInput; at: Date }[] = [];
  const s = createSmsSpool({
    dir,
    keys: { reporterKey: createSecretKey(randomBytes(32)), secretHmacKey: createSecretKey(randomBytes(32)) },
    logger: createLogger('silent'),
    receive: async (input, at) => {
      await answer(input);
      received.push({ input, at });
    },
  });
  return { s, dir, received };
}

const text = (n: number): SmsInput => ({ sid: `SM${n}`.padEnd(34, '0'), from: '+8613600000099', to: '+861012345', body: `短信举报第${n}条：低保金被冒领。` });
const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('the SMS spool', () => {
  it('keeps a message sealed, once per MessageSid with its first arrival time, and registers them oldest first', async () => {
    const { s, dir, received } = spool();
    await s.keep(text(2), new Date('2026-03-02T01:00:05Z'));
    await s.keep(text(1), new Date('2026-03-02T01:00:01Z'));
    await s.keep(text(1), new Date('2026-03-02T01:00:09Z'));
    const files = readdirSync(dir);
    expect(files).toHaveLength(2);
    for (const f of files) {
      const bytes = readFileSync(join(dir, f));
      for (const secret of ['+8613600000099', '低保金被冒领', 'SM1', 'SM2']) expect(bytes.includes(Buffer.from(secret))).toBe(false);
    }
    expect(await s.drain()).toBe(2);
    expect(received.map((r) => [r.input.sid, r.at.toISOString()])).toEqual([
      [text(1).sid, '2026-03-02T01:00:01.000Z'],
      [text(2).sid, '2026-03-02T01:00:05.000Z'],
    ]);
    expect(received[0]!.input).toEqual(text(1));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('stops at the first sign the database is still away, and sets aside what it cannot read or is refused', async () => {
    let down = true;
    const { s, dir, received } = spool(async (input) => {
      if (down) throw refused;
      if (input.sid === text(3).sid) throw new Error('validation failed');
    });
    await s.keep(text(1), new Date('2026-03-02T01:00:01Z'));
    await s.keep(text(3), new Date('2026-03-02T01:00:03Z'));
    writeFileSync(join(dir, 'junk.sms'), 'not a sealed box');
    expect(await s.drain()).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith('.sms'))).toHaveLength(2);
    expect(readdirSync(dir)).toContain('junk.sms.unreadable');
    down = false;
    expect(await s.drain()).toBe(1);
    expect(received.map((r) => r.input.sid)).toEqual([text(1).sid]);
    const left = readdirSync(dir).sort();
    expect(left).toHaveLength(2);
    expect(left.filter((f) => f.endsWith('.refused'))).toHaveLength(1);
    expect(await s.drain()).toBe(0);
  });
});
