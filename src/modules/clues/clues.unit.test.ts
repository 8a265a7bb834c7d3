import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, eventHash, GENESIS_HASH, nextEvent, nextQuarantineEvent } from './ledger.ts';
import { generatePin, generateWebSecret, hashSecret, pinIsWeak, secretMatches } from './secrets.ts';
import { allowedActions, clueStatuses, nextStatus, transitions } from './status-machine.ts';
import { dammDigit, formatTrackingCode, generateTrackingCode, normalizeTrackingCode } from './tracking-code.ts';

describe('tracking codes', () => {
  it('are 12 digits whose check digit catches every single-digit error and adjacent swap', () => {
    const code = generateTrackingCode();
    expect(code).toMatch(/^\d{12}$/);
    expect(normalizeTrackingCode(code)).toBe(code);
    for (let i = 0; i < 12; i++) {
      for (let d = 0; d < 10; d++) {
        if (String(d) === code[i]) continue;
        expect(normalizeTrackingCode(code.slice(0, i) + d + code.slice(i + 1))).toBeNull();
      }
      if (i < 11 && code[i] !== code[i + 1]) {
        expect(normalizeTrackingCode(code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2))).toBeNull();
      }
    }
  });

  it('accept what people type: spaces, dashes, full-width digits', () => {
    const code = generateTrackingCode();
    const spaced = formatTrackingCode(code);
    expect(spaced).toMatch(/^\d{4} \d{4} \d{4}$/);
    expect(normalizeTrackingCode(spaced)).toBe(code);
    const fullWidth = code.replace(/\d/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    expect(normalizeTrackingCode(fullWidth)).toBe(code);
    expect(normalizeTrackingCode('12345')).toBeNull();
    expect(dammDigit('572')).toBe(4); // the algorithm's published example
  });

  it('do not repeat in a large sample', () => {
    const seen = new Set(Array.from({ length: 20_000 }, generateTrackingCode));
    expect(seen.size).toBe(20_000);
  });
});

describe('report secrets', () => {
  const key = Buffer.alloc(32, 7);
  it('match only under the same key and code, forgiving case and dashes', () => {
    const secret = generateWebSecret();
    const stored = hashSecret(key, '123456789012', secret);
    expect(secretMatches(key, '123456789012', secret.toLowerCase().replace(/-/g, ' '), stored)).toBe(true);
    expect(secretMatches(key, '123456789013', secret, stored)).toBe(false);
    expect(secretMatches(Buffer.alloc(32, 8), '123456789012', secret, stored)).toBe(false);
    expect(generatePin()).toMatch(/^\d{6}$/);
    expect(generatePin(4)).toMatch(/^\d{4}$/);
  });

  it('never generates a weak PIN (one digit repeated, or a run up or down)', () => {
    expect(['111111', '123456', '987654', '890123'].every(pinIsWeak)).toBe(true);
    expect(pinIsWeak('358149')).toBe(false);
    // 2 000 four-digit PINs: of 10 000 there are 10 repeated and 20 runs, so some would be weak by chance.
    for (let i = 0; i < 2000; i++) expect(pinIsWeak(generatePin(4))).toBe(false);
  });
});

describe('the status machine', () => {
  it('has every target and source among the statuses, and only registered clues can be declined', () => {
    for (const t of Object.values(transitions)) {
      expect(clueStatuses).toContain(t.to);
      for (const f of t.from) expect(clueStatuses).toContain(f);
    }
    expect(nextStatus('registered', 'decline')).toBe('declined');
    expect(nextStatus('verifying', 'decline')).toBeNull();
    expect(allowedActions('merged')).toEqual([]);
    expect(allowedActions('concluded')).toEqual(['reply', 'review', 're_review']);
  });
});

describe('event hashes', () => {
  it('do not depend on key order and change with any field', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] })).toBe('{"a":[{"d":2}],"b":1}');
    const e = { clue: 'c', seq: 1, type: 't', actor: 'reporter', at: new Date(0), data: { x: 1 }, prevHash: GENESIS_HASH };
    const h = eventHash(e);
    expect(eventHash({ ...e, data: { x: 1 } })).toBe(h);
    expect(eventHash({ ...e, data: { x: 2 } })).not.toBe(h);
    expect(eventHash({ ...e, seq: 2 })).not.toBe(h);
    expect(eventHash({ ...e, prevHash: 'f'.repeat(64) })).not.toBe(h);
    // The write path hashes the same way as the verifier, whatever the text holds.
    const tricky = { reason: 'a $& b $1 "data":null $$', n: [1, { z: null }] };
    const clue = { id: 'c', headSeq: 0, headHash: GENESIS_HASH, updatedAt: new Date(0) };
    const written = nextEvent(clue, { type: 't', actor: 'reporter', data: tricky }, new Date(0));
    expect(written.hash).toBe(eventHash({ ...e, data: tricky }));
    expect(JSON.parse(written.dataJson)).toEqual(tricky);
    expect(written.data).toEqual(tricky);
    // …and both are the plain definition: sha256(prev ‖ "\n" ‖ canonical JSON of the whole event)
    const plain = (o: Record<string, unknown> & { prevHash: string }) => {
      const { prevHash, ...rest } = o;
      return createHash('sha256').update(`${prevHash}\n${canonicalJson(rest)}`).digest('hex');
    };
    for (const [chain, data, actor, type] of [
      [{ clue: 'c-1' }, tricky, 'staff:x"y', 'clue.registered'],
      [{ quarantine: 'm-1' }, { 中文: '举报', b: [null, 1.5, { z: undefined }] }, 'email', 'quarantine.held'],
      [{ clue: '\u2028' }, {}, 'reporter', 'a\\b'],
    ] as const) {
      const ev = { ...chain, seq: 7, type, actor, at: new Date('2026-11-30T08:00:00.123Z'), data: data as Record<string, unknown>, prevHash: 'a'.repeat(64) };
      expect(eventHash(ev)).toBe(plain(ev));
    }
  });
});

describe('quarantined mail event hashes', () => {
  it('are computed like a clue event’s but can never pass for one', () => {
    const e = { seq: 1, type: 'quarantine.held', actor: 'email', at: new Date(0), data: { reason: 'too_large' }, prevHash: GENESIS_HASH };
    const mail = { id: 'm', headSeq: 0, headHash: GENESIS_HASH };
    const written = nextQuarantineEvent(mail, { type: e.type, actor: 'email', data: e.data }, e.at);
    expect(written.hash).toBe(eventHash({ ...e, quarantine: 'm' }));
    expect(written.hash).not.toBe(eventHash({ ...e, clue: 'm' }));
    expect(mail).toEqual({ id: 'm', headSeq: 1, headHash: written.hash });
    expect(written).toMatchObject({ quarantine: 'm', seq: 1, prevHash: GENESIS_HASH });
    expect(written).not.toHaveProperty('clue');
  });
});
