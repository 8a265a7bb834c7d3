import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollMailbox, type PollMailboxOptions } from '../../src/modules/intake-email/email.imap.ts';
import { parseReport } from '../../src/modules/intake-email/email.parse.ts';
import { dovecotUnavailableReason, startDovecot, type TestDovecot } from './dovecot.ts';
import { base64Lines, encodedWord, gbk, rawMessage } from './mime.ts';

const unavailable = dovecotUnavailableReason();
if (unavailable) console.warn(`IMAP tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== null)('IMAP polling against a real Dovecot', () => {
  let dovecot: TestDovecot;
  let client: ImapFlow;

  beforeAll(async () => {
    dovecot = await startDovecot();
    client = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.password }, logger: false });
    client.on('error', () => {});
    await client.connect();
  });

  afterAll(async () => {
    await client?.logout().catch(() => client.close());
    await dovecot?.stop();
  });

  /** A fresh mailbox, so tests do not see each other's messages (the first test uses the default, INBOX). */
  let boxes = 0;
  async function freshMailbox(): Promise<string> {
    const name = `Test${++boxes}`;
    await client.mailboxCreate(name);
    return name;
  }

  function options(onMessage: PollMailboxOptions['onMessage'], extra: Partial<PollMailboxOptions> = {}): PollMailboxOptions {
    return { host: dovecot.host, port: dovecot.port, secure: false, user: dovecot.user, password: dovecot.password, onMessage, ...extra };
  }

  async function flagsOf(mailbox = 'INBOX'): Promise<{ uid: number; seen: boolean; messageId?: string }[]> {
    const lock = await client.getMailboxLock(mailbox);
    try {
      if (!client.mailbox || !client.mailbox.exists) return [];
      const list = await client.fetchAll('1:*', { uid: true, flags: true, envelope: true });
      // (an untagged FETCH announcing another session's flag change can show up without a UID: skip it)
      return list.filter((m) => typeof m.uid === 'number').map((m) => ({ uid: m.uid, seen: m.flags?.has('\\Seen') ?? false, messageId: m.envelope?.messageId }));
    } finally {
      lock.release();
    }
  }

  function report(id: string, subject = '举报低保冒领') {
    return rawMessage(
      [`From: ${encodedWord('举报人')} <reporter@example.cn>`, 'To: report@hotline.example', `Subject: ${encodedWord(subject)}`, `Message-ID: <${id}@example.cn>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=GBK', 'Content-Transfer-Encoding: base64'],
      base64Lines(gbk('村主任把亲戚报成低保户。')),
      '\r\n',
    );
  }

  it('hands each unseen message over once, marks it \\Seen only after the handler resolved, never refetches it', async () => {
    await client.append('INBOX', report('imap-1'));
    const seenDuringHandler: boolean[] = [];
    const handled: { raw: Buffer; uid: number; receivedAt: Date }[] = [];
    const onMessage: PollMailboxOptions['onMessage'] = async (raw, meta) => {
      seenDuringHandler.push(...(await flagsOf()).map((f) => f.seen));
      handled.push({ raw, ...meta });
    };

    expect(await pollMailbox(options(onMessage))).toEqual({ fetched: 1, handled: 1, failed: 0 });
    expect(await pollMailbox(options(onMessage))).toEqual({ fetched: 0, handled: 0, failed: 0 });

    expect(handled).toHaveLength(1);
    expect(seenDuringHandler).toEqual([false]); // fetching (BODY.PEEK) did not set \Seen
    expect(await flagsOf()).toEqual([{ uid: handled[0]!.uid, seen: true, messageId: '<imap-1@example.cn>' }]);
    expect(handled[0]!.receivedAt).toBeInstanceOf(Date);
    const parsed = await parseReport(handled[0]!.raw, { maxBytes: 1024 * 1024, maxAttachments: 5 });
    expect(parsed).toMatchObject({ kind: 'report', messageId: '<imap-1@example.cn>', subject: '举报低保冒领', text: '村主任把亲戚报成低保户。' });
  });

  it('leaves a message unseen when the handler throws, and delivers it again at the next poll', async () => {
    const mailbox = await freshMailbox();
    await client.append(mailbox, report('imap-fail'));
    await client.append(mailbox, report('imap-ok'));
    const calls: string[] = [];
    let failing = true;
    const onMessage: PollMailboxOptions['onMessage'] = async (raw) => {
      const id = /Message-ID: <([^@>]+)@/.exec(raw.toString('latin1'))![1]!;
      calls.push(id);
      if (failing && id === 'imap-fail') throw new Error('ledger unavailable');
    };

    expect(await pollMailbox(options(onMessage, { mailbox }))).toEqual({ fetched: 2, handled: 1, failed: 1 });
    expect((await flagsOf(mailbox)).map((f) => [f.messageId, f.seen])).toEqual([
      ['<imap-fail@example.cn>', false],
      ['<imap-ok@example.cn>', true],
    ]);

    failing = false;
    expect(await pollMailbox(options(onMessage, { mailbox }))).toEqual({ fetched: 1, handled: 1, failed: 0 });
    expect(calls).toEqual(['imap-fail', 'imap-ok', 'imap-fail']);
    expect((await flagsOf(mailbox)).every((f) => f.seen)).toBe(true);
  });

  it('moves handled messages when asked to (creating the folder), leaving failures in the INBOX', async () => {
    const mailbox = await freshMailbox();
    await client.append(mailbox, report('imap-move'));
    await client.append(mailbox, report('imap-stays'));
    const result = await pollMailbox(
      options(
        async (raw) => {
          if (raw.includes('imap-stays')) throw new Error('no');
        },
        { mailbox, markAs: { moveTo: 'Processed' } },
      ),
    );
    expect(result).toEqual({ fetched: 2, handled: 1, failed: 1 });
    expect((await flagsOf(mailbox)).map((f) => [f.messageId, f.seen])).toEqual([['<imap-stays@example.cn>', false]]);
    expect((await flagsOf('Processed')).map((f) => [f.messageId, f.seen])).toEqual([['<imap-move@example.cn>', true]]);
  });

  it('hands an oversize message over truncated (maxBytes + 1) and flagged, so parseReport quarantines it', async () => {
    const big = rawMessage(['From: reporter@example.cn', 'Subject: big', 'Message-ID: <imap-big@example.cn>'], base64Lines(Buffer.alloc(64 * 1024, 1)), '\r\n');
    const mailbox = await freshMailbox();
    await client.append(mailbox, big);
    const got: { raw: Buffer; truncated?: boolean }[] = [];
    await pollMailbox(options(async (raw, meta) => void got.push({ raw, truncated: meta.truncated }), { mailbox, maxBytes: 16 * 1024 }));
    expect(got).toHaveLength(1);
    expect(got[0]!.truncated).toBe(true);
    expect(got[0]!.raw.length).toBe(16 * 1024 + 1);
    const parsed = await parseReport(got[0]!.raw, { maxBytes: 16 * 1024, maxAttachments: 5 });
    expect(parsed).toMatchObject({ kind: 'quarantine', reason: 'too_large', messageId: '<imap-big@example.cn>' });
  });

  it('rejects with the IMAP error when the login is wrong', async () => {
    await expect(pollMailbox({ ...options(async () => {}), password: 'wrong' })).rejects.toThrow();
  });
});
