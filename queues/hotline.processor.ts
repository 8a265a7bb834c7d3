import { type Job, UnrecoverableError } from 'bullmq';
import type { JobPayloads } from './names.ts';
import type { Hotline } from '../src/modules/intake-voice/hotline.ts';
import { RecordingUrlRefused } from '../src/modules/intake-voice/voice.errors.ts';

/**
 * The `hotline` queue (thin: payload check, one use case). A recording download is tried
 * `RECORDING_FETCH_ATTEMPTS` times with BullMQ's exponential backoff; after the last, the clue is
 * flagged `recording_missing`. An SMS that finally fails is recorded as failed. `hotline.sweep`
 * (a job scheduler, every HOTLINE_SWEEP_MS) settles calls whose recording never came and sends the
 * call-back reminders and escalations that are due.
 */
export async function processHotlineJob(hotline: Hotline, job: Job): Promise<unknown> {
  const attempts = Math.min(job.opts.attempts ?? 1, job.name === 'recording.fetch' ? hotline.config.RECORDING_FETCH_ATTEMPTS : Infinity);
  const last = job.attemptsMade + 1 >= attempts;
  if (job.name === 'recording.fetch') {
    const { callId } = job.data as JobPayloads['hotline']['recording.fetch'];
    if (typeof callId !== 'string') throw new UnrecoverableError('recording job without callId');
    try {
      return await hotline.recordings.fetchRecording(callId);
    } catch (err) {
      const final = last || err instanceof RecordingUrlRefused;
      if (final) {
        await hotline.recordings.recordingFailed(callId, (err as Error).message);
        throw new UnrecoverableError((err as Error).message);
      }
      throw err;
    }
  }
  if (job.name === 'sms.send') {
    const { smsId } = job.data as JobPayloads['hotline']['sms.send'];
    if (typeof smsId !== 'string') throw new UnrecoverableError('sms job without smsId');
    try {
      return await hotline.sms.send(smsId);
    } catch (err) {
      if (last) await hotline.sms.sendFailed(smsId, (err as Error).message);
      throw err;
    }
  }
  if (job.name === 'hotline.sweep') {
    // Recordings first: a call settled as unanswered owes a call-back whose steps the second pass sees.
    const recordings = await hotline.calls.settleMissingRecordings();
    const notices = await hotline.callbacks.sendDueNotices();
    return { recordings, notices };
  }
  throw new UnrecoverableError(`unknown hotline job ${job.name}`);
}
