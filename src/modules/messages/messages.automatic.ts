import { type Locale, locales, renderTemplate } from '../../app/templates.ts';

/**
 * An automatic thread message (templates/<locale>/thread/<name>.txt) in every language, so the
 * reporter reads theirs alone: `body` is the Chinese (what staff see), `localized` all of them.
 */
export function automaticMessage(name: string, vars: (locale: Locale) => Record<string, string>) {
  const localized = Object.fromEntries(locales.map((l) => [l, renderTemplate(l, `thread/${name}.txt`, vars(l)).trim()])) as Record<Locale, string>;
  return { body: localized['zh-CN'], localized };
}

/** The text of a message in the reader's language: an automatic message's own, else as written. */
export function messageText(m: { body: string; localized?: Partial<Record<Locale, string>> | null }, locale: Locale): string {
  return m.localized?.[locale] ?? m.body;
}
