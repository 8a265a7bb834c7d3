import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const locales = ['zh-CN', 'en'] as const;
export type Locale = (typeof locales)[number];

const root = join(import.meta.dirname, '..', '..', 'templates');
const cache = new Map<string, string>();

function load(locale: Locale, path: string): string {
  const key = `${locale}/${path}`;
  let text = cache.get(key);
  if (text === undefined) {
    text = readFileSync(join(root, locale, path), 'utf8');
    cache.set(key, text);
  }
  return text;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * Renders `templates/<locale>/<path>` replacing `{{name}}`; values are HTML-escaped in `.html`
 * templates. An unknown placeholder is an error, so a typo in an edited template shows at once.
 */
export function renderTemplate(locale: Locale, path: string, vars: Record<string, string>): string {
  const html = path.endsWith('.html');
  return load(locale, path).replace(/\{\{\s*([a-zA-Z0-9_]+)\s*\}\}/g, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`template ${locale}/${path}: no value for {{${name}}}`);
    return html ? escapeHtml(v) : v;
  });
}

/** Chinese first, English beside it: both renderings joined, for messages sent before we know a language. */
export function renderBilingual(path: string, vars: Record<string, string>, separator: string): string {
  return `${renderTemplate('zh-CN', path, vars)}${separator}${renderTemplate('en', path, vars)}`;
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** A day as people write it: "2026年12月17日", "17 December 2026" (the year only when asked, or not this year). */
export function formatDay(locale: Locale, at: Date, opts: { timeZone?: string; year?: boolean } = {}): string {
  const timeZone = opts.timeZone ?? 'Asia/Shanghai';
  const year = opts.year ?? true;
  const key = `${locale}|${timeZone}|${year}`;
  let f = dayFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : 'zh-CN', { timeZone, year: year ? 'numeric' : undefined, month: 'long', day: 'numeric' });
    dayFormats.set(key, f);
  }
  return f.format(at);
}
