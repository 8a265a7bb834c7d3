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
