/**
 * 问题摘要 (the short summary exports carry) must not identify the reporter. The check is on the
 * summary text against the sealed identity, in memory: no substring of two characters or more of
 * the reporter's name, and, for every clue, nothing shaped like a phone number, an ID number or an
 * email address. Returns the rule broken, or null.
 */
export type SummaryRule = 'reporter_name' | 'reporter_contact' | 'number_pattern' | 'email_pattern';

const compact = (s: string) => s.normalize('NFKC').replace(/[\s\u00b7·.\-_()（）]/g, '').toLowerCase();

export function summaryProblem(summary: string, reporter: { name?: string; email?: string } | null): SummaryRule | null {
  const text = compact(summary);
  // Digits with separators between them ("139 0000-1111") count as one run.
  const digits = summary.normalize('NFKC').replace(/(?<=\d)[\s\-.()（）]+(?=\d)/g, '');
  if (/\d{7,}|\d{6,}[xX]/.test(digits)) return 'number_pattern';
  if (/[^\s@]+@[^\s@]+\.[^\s@]+/.test(summary.normalize('NFKC'))) return 'email_pattern';
  if (reporter?.name) {
    const name = compact(reporter.name);
    for (let i = 0; i + 2 <= name.length; i++) if (text.includes(name.slice(i, i + 2))) return 'reporter_name';
  }
  const local = reporter?.email?.split('@')[0];
  if (local && local.length >= 3 && text.includes(compact(local))) return 'reporter_contact';
  return null;
}
