/**
 * What the data set looks like: every knob in one place. Changing one changes the data, so bump
 * GENERATOR_VERSION with it (the cache key also hashes this folder's files, so a forgotten bump
 * still rebuilds).
 */
import type { Category, Channel } from '../../src/modules/clues/clue.entity.ts';

export const GENERATOR_VERSION = 2;

/** Sizes a benchmark asks for by name. */
export const PRESETS = { '1e5': 100_000, '1e6': 1_000_000 } as const;

/** A size as given on the command line or in BENCH_DATA_CLUES: a number (`100000`, `1e6`) or a preset name. */
export function parseClues(raw: string): number {
  const n = raw in PRESETS ? PRESETS[raw as keyof typeof PRESETS] : Number(raw);
  if (!Number.isInteger(n) || n < 100 || n > 20_000_000) throw new Error(`the number of clues must be a whole number from 100 to 20 000 000, or ${Object.keys(PRESETS).join(' / ')} (got ${raw})`);
  return n;
}

/**
 * The data set's "now": the history runs for YEARS up to this instant, and a benchmark's app runs
 * with its clock here (a Tuesday, 10:00 in Shanghai, during office hours), so "due soon", "overdue"
 * and "the last 7 days" mean the same in every run.
 */
export const ANCHOR = new Date('2026-12-01T02:00:00.000Z');
export const YEARS = 3;

/** Every bench account's password (the accounts are only ever in benchmark databases). */
export const BENCH_PASSWORD = 'bench-password-0000';

/** The district: 8 streets and 4 towns, each with about 10 committees (residents' or villagers'). */
export const DISTRICT = { streets: 8, towns: 4, committeesPerUnit: [8, 12] as [number, number] };

/** Staff per unit, by role. */
export const STAFF = {
  district: { admin: 1, operator: 6, supervisor: 3, caseworker: 2 },
  streetOrTown: { supervisor: 1, caseworker: 4 },
  committee: { caseworker: 1 },
  perDisciplineBody: { discipline_officer: 2 },
};

/** The channel mix of a hotline (percent). */
export const CHANNELS: Record<Channel, number> = {
  phone: 35,
  web: 28,
  letter: 10,
  visit: 7,
  email: 8,
  sms: 4,
  media: 2,
  data_check: 5,
  assigned: 1,
};

/** How often each problem type is alleged (a clue has one or two). */
export const CATEGORIES: Record<Category, number> = {
  favor_enrolment: 12,
  connection_enrolment: 10,
  stability_enrolment: 3,
  policy_stretch_enrolment: 3,
  wrongful_enrolment: 14,
  missed_enrolment: 9,
  single_instead_of_household: 3,
  embezzlement: 4,
  false_claim: 8,
  withholding_funds: 3,
  extortion: 3,
  favouring_relatives: 6,
  obstruction_or_inaction: 9,
  payment_irregularity: 4,
  card_custody_abuse: 3,
  hotline_unanswered: 1,
  other: 5,
};

/**
 * Volume over time, weighted to recent: the daily rate grows linearly from RATE_START to RATE_END
 * (relative) over the years, and weekends get WEEKEND of a weekday's volume.
 */
export const VOLUME = { rateStart: 0.5, rateEnd: 1.5, weekend: 0.45 };

/** Probabilities along a clue's life (DESIGN.md "The clue ledger"). */
export const LIFE = {
  named: 0.5,
  /** The concerned unit: a committee, a street/town, or none yet (district level). */
  unit: { committee: 0.72, streetOrTown: 0.23, none: 0.05 },
  accusedCount: { 0: 14, 1: 64, 2: 17, 3: 5 } as Record<string, number>,
  accusedRole: { caseworker: 30, cadre: 28, official: 14, beneficiary: 23, other: 5 },
  triagedByOperator: 0.8,
  major: 0.03,
  /** The decision: accept, decline or merge; the rest of the mass goes to accept. */
  decline: 0.12,
  merge: 0.04,
  /** Decided after the 15-day receipt deadline (missed, escalated). */
  lateDecision: 0.06,
  closeDeclined: 0.55,
  assign: 0.45,
  supervise: 0.02,
  tasks: { 0: 5, 1: 70, 2: 25 } as Record<string, number>,
  lateTask: 0.08,
  /** Of accepted clues naming an official, caseworker or cadre. */
  refer: 0.12,
  extension: 0.08,
  /** Conclusion long after the 60 days: the missed backlog. */
  stuck: 0.035,
  finding: { substantiated: 30, partly_substantiated: 25, unsubstantiated: 45 },
  closeReplied: 0.85,
  review: 0.015,
  reporterMessage: 0.15,
  revealReporter: 0.1,
  attachments: { web: 0.22, email: 0.3 } as Partial<Record<Channel, number>>,
};

/** Calls that are not a report, per phone report: status queries, operator, call-back asked, unanswered. */
export const OTHER_CALLS = { perPhoneClue: 1.1, outcome: { status: 25, operator: 35, callback: 6, abandoned: 20, no_answer: 8, busy: 4, failed: 2 } };

/** Near-relative registrations (近亲属备案) per staff member and per committee (cadres without accounts). */
export const REGISTRY = { perStaff: 0.6, perCommittee: 3 };
