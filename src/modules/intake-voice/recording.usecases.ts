import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import type { Orm } from '../../app/db.ts';
import type { Keys } from '../../app/keys.ts';
import type { Logger } from '../../app/logger.ts';
import type { AttachmentStorage } from '../attachments/attachments.storage.ts';
import { Attachment, Clue } from '../clues/clue.entity.ts';
import { appendEvent } from '../clues/ledger.ts';
import { sealName } from '../attachments/attachments.names.ts';
import { providerError, rewriteApiUrl, TWILIO_API_ORIGIN, type TwilioRest } from './twilio.client.ts';
import { RecordingUrlRefused } from './voice.errors.ts';
import { Call } from './voice.entity.ts';

export const RECORDING_MISSING = 'recording_missing';
const MAX_RECORDING_BYTES = 100 * 1024 * 1024;
const ACTOR = 'system:job:hotline' as const;

export interface RecordingUseCasesDeps {
  orm: Orm;
  clock: Clock;
  keys: Pick<Keys, 'reporterKey'>;
  logger: Logger;
  config: Config;
  storage: AttachmentStorage;
  twilioRest: TwilioRest;
}

/**
 * Recording retrieval (a job): download with the account credentials, store content-addressed as
 * an attachment with its hash on the ledger, then delete it at the provider if configured. Each
 * step is recorded on the call row, so a retried job resumes where the last one stopped.
 */
export function createRecordingUseCases(deps: RecordingUseCasesDeps) {
  const { orm, clock, config, logger, storage, keys } = deps;

  /** Credentials go only to the provider's API (or its configured stand-in), never to any other host. */
  function downloadUrl(recordingUrl: string): URL {
    const withFormat = /\.(mp3|wav)$/i.test(new URL(recordingUrl).pathname) ? recordingUrl : `${recordingUrl}.mp3`;
    const url = new URL(rewriteApiUrl(withFormat, config.TWILIO_API_BASE));
    const allowed = [new URL(TWILIO_API_ORIGIN).origin, ...(config.TWILIO_API_BASE ? [new URL(config.TWILIO_API_BASE).origin] : [])];
    if (!allowed.includes(url.origin)) throw new RecordingUrlRefused('recording URL is not at the provider');
    return url;
  }

  async function download(recordingUrl: string): Promise<{ bytes: Uint8Array; contentType: string }> {
    let url = downloadUrl(recordingUrl);
    const auth = `Basic ${Buffer.from(`${config.TWILIO_ACCOUNT_SID}:${config.TWILIO_AUTH_TOKEN}`).toString('base64')}`;
    for (let hop = 0; hop < 4; hop++) {
      // Credentials on the first request only: a redirect (to file storage) carries its own signature.
      const res = await fetch(url, { headers: hop === 0 ? { Authorization: auth } : {}, redirect: 'manual', signal: AbortSignal.timeout(60_000) });
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        url = new URL(location, url);
        continue;
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new Error(`recording download failed: HTTP ${res.status}`);
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.length === 0) throw new Error('recording download failed: empty body');
      if (bytes.length > MAX_RECORDING_BYTES) throw new RecordingUrlRefused('recording too large');
      const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
      return { bytes, contentType: /^audio\/[\w.+-]+$/.test(type) ? type : 'audio/mpeg' };
    }
    throw new Error('recording download failed: too many redirects');
  }

  async function fetchRecording(callId: string) {
    const call = await orm.em.fork().findOne(Call, { id: callId });
    if (!call?.clue) return { skipped: 'no_clue' as const };
    if (!call.recordingAttachmentId) {
      if (!call.recordingUrl) return { skipped: 'no_recording' as const };
      const { bytes, contentType } = await download(call.recordingUrl);
      const put = await storage.put(bytes);
      await orm.em.fork().transactional(async (tx) => {
        const row = await tx.findOneOrFail(Call, { id: callId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (row.recordingAttachmentId) return;
        const clue = await tx.findOneOrFail(Clue, { id: row.clue! }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        const now = clock.now();
        const ext = contentType === 'audio/mpeg' ? 'mp3' : (contentType.split('/')[1] ?? 'audio').replace(/^x-/, '');
        const attachmentId = randomUUID();
        const attachment = tx.create(Attachment, {
          id: attachmentId,
          clue: clue.id,
          message: null,
          filename: null,
          filenameBox: sealName(keys.reporterKey, attachmentId, `phone-recording.${ext}`),
          contentType,
          size: put.size,
          sha256: put.sha256,
          storageKey: put.key,
          source: 'twilio',
          createdAt: now,
        });
        appendEvent(
          tx,
          clue,
          {
            type: 'attachment.added',
            actor: ACTOR,
            data: { attachmentId: attachment.id, contentType, size: put.size, sha256: put.sha256, source: 'phone_recording' },
          },
          now,
        );
        if (clue.flags.includes(RECORDING_MISSING)) {
          clue.flags = clue.flags.filter((f) => f !== RECORDING_MISSING);
          appendEvent(tx, clue, { type: 'clue.flag_cleared', actor: ACTOR, data: { flag: RECORDING_MISSING } }, now);
        }
        row.recordingAttachmentId = attachment.id;
        row.recordingFailedAt = null;
        if (!config.TWILIO_DELETE_RECORDINGS) {
          row.recordingUrl = null;
          row.recordingSid = null;
        }
      });
      logger.info({ callId, clueId: call.clue, size: put.size }, 'phone recording stored');
    }
    const fresh = await orm.em.fork().findOneOrFail(Call, { id: callId });
    if (config.TWILIO_DELETE_RECORDINGS && fresh.recordingSid && !fresh.recordingDeletedAt) {
      try {
        await deps.twilioRest().recordings(fresh.recordingSid).remove();
      } catch (err) {
        if ((err as { status?: number }).status !== 404) throw providerError(err);
      }
      const em = orm.em.fork();
      const row = await em.findOneOrFail(Call, { id: callId });
      row.recordingDeletedAt = clock.now();
      row.recordingSid = null;
      row.recordingUrl = null;
      await em.flush();
      logger.info({ callId }, 'phone recording deleted at the provider');
    }
    return { stored: true };
  }

  /**
   * The job's last attempt failed. Without the audio the clue stays registered and is flagged
   * `recording_missing` for the operators (once, on the ledger); if only the deletion failed, the
   * audio is safe and the leftover is logged.
   */
  async function recordingFailed(callId: string, reason: string) {
    await orm.em.fork().transactional(async (tx) => {
      const call = await tx.findOne(Call, { id: callId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!call?.clue) return;
      if (call.recordingAttachmentId) {
        logger.warn({ callId, reason }, 'phone recording stored but not deleted at the provider');
        return;
      }
      const clue = await tx.findOneOrFail(Clue, { id: call.clue }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const now = clock.now();
      call.recordingFailedAt = now;
      if (!clue.flags.includes(RECORDING_MISSING)) {
        clue.flags = [...clue.flags, RECORDING_MISSING];
        appendEvent(tx, clue, { type: 'clue.flagged', actor: ACTOR, data: { flag: RECORDING_MISSING, reason: reason.slice(0, 200) } }, now);
      }
      logger.warn({ callId, clueId: clue.id, reason }, 'phone recording missing: clue flagged');
    });
  }

  return { fetchRecording, recordingFailed };
}

export type RecordingUseCases = ReturnType<typeof createRecordingUseCases>;
