import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import type { Orm } from '../../app/db.ts';
import type { Keys } from '../../app/keys.ts';
import type { Logger } from '../../app/logger.ts';
import type { Metrics } from '../../app/metrics.ts';
import type { Locale } from '../../app/templates.ts';
import type { AttachmentStorage } from '../attachments/attachments.storage.ts';
import type { ClueUseCases } from '../clues/clues.usecases.ts';
import type { WorkingCalendar } from '../deadlines/calendar/calendar.ts';
import type { DeadlineUseCases } from '../deadlines/deadlines.usecases.ts';
import { createOwedCallbacks } from './callbacks.rules.ts';
import { createCallbackUseCases } from './callbacks.usecases.ts';
import { createCallsRepository } from './calls.repository.ts';
import { createCallUseCases } from './calls.usecases.ts';
import { createHotlineDates } from './hotline.dates.ts';
import { createHotlineHashing } from './hotline.hashing.ts';
import { createHotlineStatsUseCases } from './hotline-stats.usecases.ts';
import { createPhoneReportUseCases } from './phone-report.usecases.ts';
import { createRecordingUseCases } from './recording.usecases.ts';
import { createSmsUseCases } from './sms.usecases.ts';
import { lazyTwilioRest, type TwilioHttpClient } from './twilio.client.ts';

export interface HotlineDeps {
  orm: Orm;
  clock: Clock;
  keys: Keys;
  logger: Logger;
  config: Config;
  clues: Pick<ClueUseCases, 'registerClue' | 'authenticateReporter'>;
  deadlines: Pick<DeadlineUseCases, 'currentPolicy' | 'forReporter'>;
  calendar: WorkingCalendar;
  storage: AttachmentStorage;
  metrics: Metrics;
  /** Called after a commit that wrote outbox rows. */
  onOutboxWritten: () => void;
  /** Replaces the HTTP client of the twilio REST client (tests); else TWILIO_API_BASE or the real API. */
  twilioHttpClient?: TwilioHttpClient;
}

/** The phone hotline: IVR calls, recordings, SMS, call-backs and figures (README "Phone hotline"). */
export function createHotline(deps: HotlineDeps) {
  // Keyed hashes of provider ids and numbers, sealed texts (hotline.hashing.ts).
  const hashing = createHotlineHashing(deps.keys);
  // The call rows: the pooled upsert of the choice-recording steps, the locked read of the others.
  const callRows = createCallsRepository({ orm: deps.orm, clock: deps.clock, hashing });
  // When a call-back is owed, joined, withdrawn and due.
  const owed = createOwedCallbacks({ ...deps, hashing });
  const parts = { ...deps, hashing, callRows, owed, dates: createHotlineDates(deps.config), twilioRest: lazyTwilioRest(deps.config, deps.twilioHttpClient) };
  return {
    config: deps.config,
    locale: deps.config.VOICE_LOCALE as Locale,
    // The IVR's steps and the recording callbacks that register its report, as one `calls`.
    calls: { ...createCallUseCases(parts), ...createPhoneReportUseCases(parts) },
    recordings: createRecordingUseCases(parts),
    sms: createSmsUseCases(parts),
    // The operators' call-backs and the hotline figures, as one `callbacks`.
    callbacks: { ...createCallbackUseCases(parts), ...createHotlineStatsUseCases(parts) },
    /** Group-commit counters of the call-row upserts (benchmarks). */
    callWriteStats: callRows.callWritesStats,
  };
}

export type Hotline = ReturnType<typeof createHotline>;
