/**
 * Text hygiene for every channel. NUL and the other C0 control characters (tab, newline and
 * carriage return aside) have no place in a report: PostgreSQL refuses NUL in text outright (which
 * used to surface as a 500), and the rest hide words from the staff who read them. JSON bodies
 * that carry one are refused with a 400 naming the field; forms, mail, SMS and CSV have them
 * removed (a browser, a mail program or a phone cannot be asked to send again).
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g;
// eslint-disable-next-line no-control-regex
const HAS_CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;

export const hasControl = (s: string) => HAS_CONTROL.test(s);

/** The text without C0 control characters other than tab, newline and carriage return. */
export function stripControls(s: string): string {
  return HAS_CONTROL.test(s) ? s.replace(CONTROL, '') : s;
}

/** Every string of a parsed form (values and lists of values) without control characters; files untouched. */
export function cleanForm<T extends Record<string, unknown>>(form: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(form)) {
    out[stripControls(k)] = typeof v === 'string' ? stripControls(v) : Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? stripControls(x) : x)) : v;
  }
  return out as T;
}

/** The path (`a.b.0`) of the first string in a JSON value (keys included) holding a control character, or null. */
export function controlPath(value: unknown, path: (string | number)[] = []): string | null {
  if (typeof value === 'string') return hasControl(value) ? path.join('.') : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = controlPath(value[i], [...path, i]);
      if (found !== null) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (hasControl(k)) return [...path, k.replace(CONTROL, '?')].join('.');
      const found = controlPath(v, [...path, k]);
      if (found !== null) return found;
    }
  }
  return null;
}

/** A person's name for matching: NFKC, no spaces or middle dots (阿卜杜·热合曼), lower case. */
export function nameKey(raw: string): string {
  return raw
    .normalize('NFKC')
    .replace(/[\s·•・‧.]/g, '')
    .toLowerCase();
}
