import { access, mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isDatabaseUnavailable } from '../../app/db.ts';
import { writeFileDurably } from '../../app/durable-file.ts';
import type { Keys } from '../../app/keys.ts';
import type { Logger } from '../../app/logger.ts';
import { createHotlineHashing } from './hotline.hashing.ts';
import type { SmsInput } from './voice.schemas.ts';

/**
 * SMS reports that came while the database was unavailable. Twilio does not deliver an SMS webhook
 * again after an error answer (it would try a fallback URL, if one is set, and log error 11200), so
 * a 503 there loses the text. Instead the webhook keeps the message here — one file a MessageSid,
 * named by its keyed hash and sealed with the reporter key (hotline.hashing.ts: the sender's number
 * and words never lie on disk in the clear, and the name cannot be joined to Twilio's log),
 * written and flushed to disk before Twilio gets its 200 — and the serve process registers it when
 * the database answers again, with the time it came in (the legal deadlines start then). A message
 * kept twice is one file; registered twice it is one clue (the intake key `sms:<MessageSid hash>`).
 */
export interface SmsSpool {
  /** Keeps one message; resolves once it is on disk. */
  keep(input: SmsInput, receivedAt: Date): Promise<void>;
  /** Registers what is kept, oldest first; stops at the first sign that the database is still away. Returns how many were registered. */
  drain(): Promise<number>;
  /** Drains now and every `intervalMs`. */
  start(): void;
  stop(): Promise<void>;
}

interface Kept {
  input: SmsInput;
  receivedAt: string;
}

export function createSmsSpool(deps: {
  dir: string;
  keys: Pick<Keys, 'secretHmacKey' | 'reporterKey'>;
  logger: Logger;
  receive: (input: SmsInput, receivedAt: Date) => Promise<unknown>;
  intervalMs?: number;
}): SmsSpool {
  const { dir, logger } = deps;
  const hashing = createHotlineHashing(deps.keys);
  const fileOf = (sid: string) => `${hashing.sidHash('sms', sid).slice(0, 40)}.sms`;
  let timer: NodeJS.Timeout | undefined;
  let draining: Promise<number> | undefined;

  async function keep(input: SmsInput, receivedAt: Date): Promise<void> {
    if (!input.sid) throw new Error('an SMS without a MessageSid cannot be kept');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const name = fileOf(input.sid);
    // Twilio's own second delivery of a kept message: the first keeps its arrival time.
    if (await access(join(dir, name)).then(() => true, () => false)) return;
    const box = hashing.sealText(JSON.stringify({ input, receivedAt: receivedAt.toISOString() } satisfies Kept), `sms-spool:${name}`);
    await writeFileDurably(dir, name, box, name.slice(0, 16));
    logger.warn({ channel: 'sms' }, 'database unavailable: SMS report kept on disk until it is back');
  }

  async function drainOnce(): Promise<number> {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.sms'));
    } catch {
      return 0; // nothing was ever kept
    }
    const kept: { name: string; item: Kept }[] = [];
    for (const name of names) {
      try {
        const item = JSON.parse(hashing.unsealText(await readFile(join(dir, name)), `sms-spool:${name}`)) as Kept;
        kept.push({ name, item });
      } catch (err) {
        // Not ours, or cut short: set aside for an operator to look at (logged once), never thrown away.
        logger.error({ file: name, err: (err as Error).message }, 'SMS spool file unreadable: set aside as .unreadable');
        await rename(join(dir, name), join(dir, `${name}.unreadable`)).catch(() => undefined);
      }
    }
    kept.sort((a, b) => a.item.receivedAt.localeCompare(b.item.receivedAt));
    let done = 0;
    for (const { name, item } of kept) {
      try {
        await deps.receive(item.input, new Date(item.receivedAt));
      } catch (err) {
        if (isDatabaseUnavailable(err)) break;
        logger.error({ file: name, err: (err as Error).message }, 'kept SMS report refused: set aside as .refused');
        await rename(join(dir, name), join(dir, `${name}.refused`)).catch(() => undefined);
        continue;
      }
      // Another process draining the same folder may have registered and removed it first.
      await unlink(join(dir, name)).catch(() => undefined);
      done++;
    }
    if (done) logger.info({ channel: 'sms', registered: done }, 'kept SMS reports registered');
    return done;
  }

  const drain = () => (draining ??= drainOnce().finally(() => (draining = undefined)));

  return {
    keep,
    drain,
    start() {
      if (timer) return;
      timer = setInterval(() => void drain().catch((err) => logger.error({ err: (err as Error).message }, 'SMS spool drain failed')), deps.intervalMs ?? 10_000);
      timer.unref();
      void drain().catch(() => undefined);
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await draining?.catch(() => undefined);
    },
  };
}
