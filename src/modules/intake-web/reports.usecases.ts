import type { Orm } from '../../app/db.ts';
import type { Logger } from '../../app/logger.ts';
import type { Clue } from '../clues/clue.entity.ts';
import type { Locale } from '../../app/templates.ts';
import type { UploadedFile, Uploads } from '../attachments/uploads.ts';
import type { ClueUseCases, RegisterClueInput } from '../clues/clues.usecases.ts';
import { reportNotFound } from '../clues/clues.errors.ts';
import { LedgerEvent } from '../clues/ledger.entity.ts';
import { type ClueStatus, publicStatusText } from '../clues/status-machine.ts';
import { formatTrackingCode } from '../clues/tracking-code.ts';
import type { MessageUseCases } from '../messages/messages.usecases.ts';
import type { DeadlineUseCases } from '../deadlines/deadlines.usecases.ts';

const publicEvents: Record<string, { zh: string; en: string }> = {
  'clue.registered': { zh: '举报已登记', en: 'Report registered' },
  'reporter.notified': { zh: '已向您发送受理通知', en: 'Acknowledgement sent to you' },
  'deadline.extended': { zh: '办理期限经批准延长', en: 'The deadline was extended with approval' },
};

export type WebReportInput = Omit<RegisterClueInput, 'channel' | 'secret' | 'attachments'>;

/** The reporter's side of a clue: submit, then follow it with the tracking code and the secret. */
export function createReportUseCases(deps: {
  orm: Orm;
  clues: ClueUseCases;
  messages: MessageUseCases;
  uploads: Uploads;
  deadlines: Pick<DeadlineUseCases, 'forReporter'>;
  logger: Logger;
}) {
  const { orm, clues, messages, uploads, logger } = deps;

  /** Units are checked, then every file, and only then anything is stored: bad input leaves nothing behind. */
  async function submit(input: WebReportInput, files: UploadedFile[], locale: Locale = 'zh-CN') {
    // Without files the foreign keys give the same answer inside the insert; with files, check
    // first so that nothing is stored for a report that will be refused.
    if (files.length) await clues.checkUnits([input.unitId, ...input.accused.map((a) => a.unitId)]);
    const attachments = await uploads.accept(files, locale);
    const { clue, trackingCode, secret } = await clues.registerClue('reporter', {
      ...input,
      channel: 'web',
      secret: { kind: 'web' },
      attachments,
    });
    // Web submissions carry no intake key, so they are never a repeat and always get a new secret.
    return { clue, trackingCode, secret: secret!, status: clue.status as ClueStatus };
  }

  async function open(code: string, secret: string): Promise<Clue> {
    const clue = await clues.authenticateReporter(code, secret);
    if (!clue) throw reportNotFound();
    return clue;
  }

  /** What the reporter may see: status in plain words, dates, the public history and the thread. */
  async function view(code: string, secret: string) {
    const clue = await open(code, secret);
    const events = await orm.em.fork().find(LedgerEvent, { clue: clue.id }, { orderBy: { seq: 'asc' } });
    const history = events.flatMap((e) => {
      if (e.type === 'clue.status_changed') {
        const text = publicStatusText[e.data.to as ClueStatus];
        return text ? [{ at: e.at, ...text }] : [];
      }
      const text = publicEvents[e.type];
      return text ? [{ at: e.at, ...text }] : [];
    });
    const thread = (await messages.listMessages(clue.id)).map((m) => ({
      author: m.author,
      body: m.body,
      createdAt: m.createdAt,
      attachments: m.attachments.map((a) => ({ filename: a.filename, size: a.size })),
    }));
    return {
      trackingCode: clue.trackingCode,
      trackingCodeDisplay: formatTrackingCode(clue.trackingCode),
      status: clue.status,
      statusText: publicStatusText[clue.status],
      receivedAt: clue.receivedAt,
      deadlines: await deps.deadlines.forReporter(clue.id),
      history,
      messages: thread,
    };
  }

  async function reply(code: string, secret: string, body: string, files: UploadedFile[], locale: Locale = 'zh-CN') {
    const clue = await open(code, secret);
    const attachments = await uploads.accept(files, locale);
    await messages.postMessage(clue.id, { author: 'reporter', actor: 'reporter', body, attachments });
    logger.info({ clueId: clue.id }, 'reporter replied');
  }

  return { submit, view, reply };
}

export type ReportUseCases = ReturnType<typeof createReportUseCases>;
