import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const deadlineKinds = [
  'receipt_notice',
  'acceptance_decision',
  'conclusion',
  'reply_to_reporter',
  'verification_task',
  'referral_ack',
  'referral_result',
  'callback',
  'review',
  're_review',
] as const;
export type DeadlineKind = (typeof deadlineKinds)[number];

export const bases = ['calendar_days', 'working_days', 'hours', 'working_hours'] as const;
export type Basis = (typeof bases)[number];

const isoDuration = /^-?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/;

export interface Duration {
  negative: boolean;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
}

/** ISO-8601 durations as the policy uses them: weeks, days, hours, minutes, optionally negative. */
export function parseDuration(text: string): Duration {
  const m = isoDuration.exec(text);
  if (!m || text === 'P' || text === '-P' || text.endsWith('T')) throw new Error(`not an ISO-8601 duration: ${text}`);
  return { negative: text.startsWith('-'), weeks: Number(m[1] ?? 0), days: Number(m[2] ?? 0), hours: Number(m[3] ?? 0), minutes: Number(m[4] ?? 0) };
}

/** Plain elapsed milliseconds (reminder offsets, escalation intervals). */
export function durationMs(text: string): number {
  const d = parseDuration(text);
  const ms = (((d.weeks * 7 + d.days) * 24 + d.hours) * 60 + d.minutes) * 60_000;
  return d.negative ? -ms : ms;
}

const duration = z.string().refine((s) => isoDuration.test(s) && !s.startsWith('-') && s !== 'P', 'a positive ISO-8601 duration such as P15D or PT1H');
const offset = z.string().refine((s) => isoDuration.test(s) && s.startsWith('-'), 'a negative ISO-8601 duration (before due), such as -P3D');

export const kindPolicySchema = z.object({
  kind: z.enum(deadlineKinds),
  zh: z.string().min(1),
  en: z.string().min(1),
  legalBasis: z.string().default(''),
  duration,
  basis: z.enum(bases),
  /** Only for clues matching this, e.g. named reports. */
  when: z.object({ named: z.boolean().optional() }).optional(),
  /** Event tokens: a ledger event type, or `clue.<action>` for a status change. */
  startsOn: z.array(z.string().min(1)).min(1),
  stopsOn: z.array(z.string().min(1)).min(1),
  reminders: z.array(offset).max(10).default([]),
  /** After a miss, the deadline climbs one unit up the tree per interval until someone acts. */
  escalateEvery: duration,
  maxExtensions: z.number().int().min(0).max(5).default(0),
  extension: duration.optional(),
  pausable: z.boolean().default(false),
  visibleToReporter: z.boolean().default(false),
});
export type KindPolicy = z.infer<typeof kindPolicySchema>;

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM');

export const policySchema = z
  .object({
    version: z.string().min(1),
    officeHours: z.object({ start: hhmm, end: hhmm }),
    kinds: z.array(kindPolicySchema).min(1),
  })
  .refine((p) => new Set(p.kinds.map((k) => k.kind)).size === p.kinds.length, 'each kind at most once')
  .refine((p) => p.kinds.every((k) => k.maxExtensions === 0 || k.extension), 'a kind with maxExtensions needs an extension duration');
export type DeadlinePolicy = z.infer<typeof policySchema>;

export const defaultPolicyPath = new URL('./policy.default.json', import.meta.url);

export function loadPolicyFile(path: string | URL): DeadlinePolicy {
  const parsed = policySchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new Error(`期限规则文件无效 / invalid deadline policy ${String(path)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** The kinds an event starts or stops, for a clue with the given traits. */
export function effectsOf(policy: DeadlinePolicy, token: string, clue: { named: boolean }) {
  const applies = (k: KindPolicy) => k.when?.named === undefined || k.when.named === clue.named;
  return {
    start: policy.kinds.filter((k) => k.startsOn.includes(token) && applies(k)),
    stop: policy.kinds.filter((k) => k.stopsOn.includes(token)).map((k) => k.kind),
  };
}

/** The token a ledger event is known by in the policy. */
export function eventToken(type: string, data: Record<string, unknown> | undefined): string {
  return type === 'clue.status_changed' && typeof data?.action === 'string' ? `clue.${data.action}` : type;
}
