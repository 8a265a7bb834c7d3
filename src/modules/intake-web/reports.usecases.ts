import type { Orm } from '../../app/db.ts';
import type { Logger } from '../../app/logger.ts';
import { Clue } from '../clues/clue.entity.ts';
import type { Locale } from '../../app/templates.ts';
import type { UploadedFile, Uploads } from '../attachments/uploads.ts';
import type { ClueUseCases, RegisterClueInput } from '../clues/clues.usecases.ts';
import { reportNotFound } from '../clues/clues.errors.ts';
import { LedgerEvent } from '../clues/ledger.entity.ts';
import { type ClueStatus, publicStatusText } from '../clues/status-machine.ts';
import { formatTrackingCode } from '../clues/tracking-code.ts';
import type { MessageUseCases } from '../messages/messages.usecases.ts';
import { messageText } from '../messages/messages.automatic.ts';
import type { DeadlineUseCases } from '../deadlines/deadlines.usecases.ts';
import { publicHistory } from './reports.history.ts';

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

  /** The clue a code and secret open, else `report.not_found` (a wrong code and a wrong secret alike). */
  async function open(code: string, secret: string): Promise<Clue> {
    const clue = await clues.authenticateReporter(code, secret);
    if (!clue) throw reportNotFound();
    return clue;
  }

  /** A clue opened earlier in this browser session: `still` checks its secret has not changed since. */
  async function resume(clueId: string, still: (clue: Clue) => boolean): Promise<Clue | null> {
    const clue = await orm.em.fork().findOne(Clue, { id: clueId });
    return clue && still(clue) ? clue : null;
  }

  /**
   * What the reporter may see: status in plain words, dates, the public history and the thread,
   * automatic messages in `locale` (the reporter's own language unless a page asks for another).
   */
  async function viewOf(clue: Clue, locale: Locale = clue.locale) {
    const events = await orm.em.fork().find(LedgerEvent, { clue: clue.id }, { orderBy: { seq: 'asc' } });
    const thread = (await messages.listMessages(clue.id, { reporterView: true })).map((m) => ({
      author: m.author,
      body: messageText(m, locale),
      createdAt: m.createdAt,
      attachments: m.attachments.map((a) => ({ filename: a.filename ?? a.label, size: a.size })),
    }));
    return {
      trackingCode: clue.trackingCode,
      trackingCodeDisplay: formatTrackingCode(clue.trackingCode),
      status: clue.status,
      statusText: publicStatusText[clue.status],
      receivedAt: clue.receivedAt,
      deadlines: await deps.deadlines.forReporter(clue.id),
      history: publicHistory(events),
      messages: thread,
    };
  }

  async function view(code: string, secret: string) {
    return viewOf(await open(code, secret));
  }

  async function replyTo(clue: Clue, body: string, files: UploadedFile[], locale: Locale = 'zh-CN') {
    const attachments = await uploads.accept(files, locale);
    await messages.postMessage(clue.id, { author: 'reporter', actor: 'reporter', body, attachments });
    logger.info({ clueId: clue.id }, 'reporter replied');
  }

  async function reply(code: string, secret: string, body: string, files: UploadedFile[], locale: Locale = 'zh-CN') {
    await replyTo(await open(code, secret), body, files, locale);
  }

  return { submit, open, resume, view, viewOf, reply, replyTo, promisesFor: deps.deadlines.forReporter };
}

export type ReportUseCases = ReturnType<typeof createReportUseCases>;
