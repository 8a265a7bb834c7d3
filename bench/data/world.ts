/**
 * What every life in the history shares: the district, the keys, the deadline policy and the
 * project's own functions that turn events into rows (deadline planning, hashing, sealing).
 */
import { createHash, createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { keyIdOf, type LedgerKeys } from '../../src/app/keys.ts';
import { systemClock } from '../../src/app/clock.ts';
import { createLogger } from '../../src/app/logger.ts';
import { DEFAULT_CALENDAR_DATA_DIR, loadCalendar, type WorkingCalendar } from '../../src/modules/deadlines/calendar/calendar.ts';
import { createDeadlineUseCases } from '../../src/modules/deadlines/deadlines.usecases.ts';
import { defaultPolicyPath, type DeadlinePolicy, loadPolicyFile } from '../../src/modules/deadlines/policy.ts';
import { createHotlineHashing, type HotlineHashing } from '../../src/modules/intake-voice/hotline.hashing.ts';
import { buildDistrict, type District } from './district.ts';
import { Rng } from './random.ts';
import { ANCHOR } from './shape.ts';

/**
 * The data set's keys, derived from the seed: the benchmark app is started with them
 * (REPORTER_KEY, SECRET_HMAC_KEY), so sealed reporters open and secrets match. They protect
 * nothing real: every name and number in the data set is made up.
 */
export function datasetKeys(seed: number) {
  const raw = (purpose: string) => createHash('sha256').update(`dibao-bench-data:${seed}:${purpose}`).digest();
  // An Ed25519 private key is its 32-byte seed behind a fixed PKCS#8 header (RFC 8410).
  const ed25519 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), raw('ledger-signing-key')]);
  return {
    REPORTER_KEY: raw('reporter-key').toString('base64'),
    SECRET_HMAC_KEY: raw('secret-hmac-key').toString('base64'),
    LEDGER_SIGNING_KEY: ed25519.toString('base64'),
  };
}

export interface World {
  seed: number;
  anchor: number;
  district: District;
  keys: { reporterKey: KeyObject; secretHmacKey: KeyObject; ledger: Pick<LedgerKeys, 'signingKey' | 'keyId'> };
  policy: DeadlinePolicy;
  calendar: WorkingCalendar;
  planStarts: ReturnType<typeof createDeadlineUseCases>['planStarts'];
  hotline: Pick<HotlineHashing, 'sidHash' | 'callerHash'>;
  /** Tracking codes are index × multiplier + offset modulo 10¹¹ (clue.ts trackingBody). */
  trackingMultiplier: bigint;
  trackingOffset: bigint;
}

function trackingPermutation(seed: number) {
  const rng = new Rng(seed, 'tracking-codes');
  let a = BigInt(rng.int(1_000_000, 99_999_999)) * 1000n + BigInt(rng.pick([1, 3, 7, 9]));
  a %= 10n ** 11n;
  return { trackingMultiplier: a, trackingOffset: BigInt(rng.int(0, 999_999_999)) * 100n + BigInt(rng.int(0, 99)) };
}

export async function createWorld(seed: number): Promise<World> {
  const k = datasetKeys(seed);
  const signingKey = createPrivateKey({ key: Buffer.from(k.LEDGER_SIGNING_KEY, 'base64'), format: 'der', type: 'pkcs8' });
  const keys = {
    reporterKey: createSecretKey(Buffer.from(k.REPORTER_KEY, 'base64')),
    secretHmacKey: createSecretKey(Buffer.from(k.SECRET_HMAC_KEY, 'base64')),
    ledger: { signingKey, keyId: keyIdOf(createPublicKey(signingKey)) },
  };
  const logger = createLogger('silent');
  // Years before the shipped calendar files fall back to Monday–Friday, as in the app.
  const calendar = loadCalendar({ dirs: [DEFAULT_CALENDAR_DATA_DIR], timeZone: 'Asia/Shanghai', onMissingYear: () => undefined });
  const policy = loadPolicyFile(defaultPolicyPath);
  // Only the pure planning function is used: it needs no database.
  const deadlines = createDeadlineUseCases({ orm: null as never, clock: systemClock, logger, calendar, basePolicy: policy });
  // The hotline's keyed hashes (CallSid, caller number), from the hotline module itself
  // (hotline.hashing.ts: no database or network).
  const hotline = createHotlineHashing(keys);
  return {
    seed,
    anchor: ANCHOR.getTime(),
    district: await buildDistrict(seed, keys),
    keys,
    policy,
    calendar,
    planStarts: deadlines.planStarts,
    hotline,
    ...trackingPermutation(seed),
  };
}

export { Rng };
