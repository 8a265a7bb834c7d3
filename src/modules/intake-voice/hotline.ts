import { createCallbackUseCases } from './callbacks.usecases.ts';
import { createCallUseCases } from './calls.usecases.ts';
import { createHotlineContext, type HotlineDeps } from './hotline.shared.ts';
import { createRecordingUseCases } from './recording.usecases.ts';
import { createSmsUseCases } from './sms.usecases.ts';

/** The phone hotline: IVR calls, recordings, SMS, call-backs and figures (README "Phone hotline"). */
export function createHotline(deps: HotlineDeps) {
  const ctx = createHotlineContext(deps);
  return {
    config: deps.config,
    locale: ctx.locale,
    calls: createCallUseCases(ctx),
    recordings: createRecordingUseCases(ctx),
    sms: createSmsUseCases(ctx),
    callbacks: createCallbackUseCases(ctx),
    /** Group-commit counters of the call-row upserts (benchmarks). */
    callWriteStats: ctx.callWritesStats,
  };
}

export type Hotline = ReturnType<typeof createHotline>;
export type { HotlineDeps };
