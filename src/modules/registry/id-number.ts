import { createHmac, type KeyObject } from 'node:crypto';

/**
 * Chinese resident ID numbers (居民身份证号码, GB 11643-1999): 6-digit address code, 8-digit birth
 * date, 3-digit sequence, ISO 7064 MOD 11-2 check character (0–9 or X). Reasons are zh-CN first.
 */
export type IdProblem = 'format' | 'birth_date' | 'check_digit';

export const idProblemReasons: Record<IdProblem, string> = {
  format: '身份证号应为18位（前17位为数字，末位为数字或X）/ The ID number must have 18 characters: 17 digits and a digit or X',
  birth_date: '身份证号中的出生日期无效 / The birth date in the ID number is not a valid date',
  check_digit: '身份证号校验位错误 / The ID number’s check digit is wrong',
};

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK = '10X98765432';

/** Full-width digits and letters made ASCII, spaces removed, `x` upper-cased. */
export function normalizeIdNumber(raw: string): string {
  return raw.normalize('NFKC').replace(/[\s\u00a0\u3000-]/g, '').toUpperCase();
}

/** The ISO 7064 MOD 11-2 check character of the first 17 digits. */
export function idCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK[sum % 11]!;
}

/** `null` when valid; else what is wrong. `today` bounds the birth date. */
export function idNumberProblem(normalized: string, today: Date): IdProblem | null {
  if (!/^\d{17}[\dX]$/.test(normalized)) return 'format';
  const y = Number(normalized.slice(6, 10));
  const m = Number(normalized.slice(10, 12));
  const d = Number(normalized.slice(12, 14));
  const birth = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || birth.getUTCFullYear() !== y || birth.getUTCMonth() !== m - 1 || birth.getUTCDate() !== d) return 'birth_date';
  if (birth.getTime() > today.getTime()) return 'birth_date';
  if (idCheckCharacter(normalized) !== normalized[17]) return 'check_digit';
  return null;
}

/** 310***********1234: the first 3 and last 4 characters, the rest starred (birth date hidden). */
export function maskIdNumber(normalized: string): string {
  if (normalized.length < 8) return '*'.repeat(normalized.length);
  return `${normalized.slice(0, 3)}${'*'.repeat(normalized.length - 7)}${normalized.slice(-4)}`;
}

/**
 * Keyed hash for finding duplicates and matches without decrypting. Domain-separated from the
 * report-secret hashes made with the same key. The key never enters the database, so a dump alone
 * cannot be brute-forced over the (small) space of ID numbers.
 */
export function idNumberHash(key: KeyObject, normalized: string): string {
  return createHmac('sha256', key).update('near_relative.id_number\n').update(normalized).digest('hex');
}
