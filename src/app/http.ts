import type { Context } from 'hono';
import type { z } from 'zod';
import { createErrorFactory, validationFailed } from './errors.ts';
import { controlPath } from './text.ts';
import { UUID } from './ids.ts';

export const malformedJson = createErrorFactory({
  code: 'request.malformed_json',
  message: '请求体不是有效的 JSON / The request body is not valid JSON.',
  statusCode: 400,
});
export const invalidUtf8 = createErrorFactory({
  code: 'request.invalid_utf8',
  message: '请求体不是有效的 UTF-8 文本 / The request body is not valid UTF-8.',
  statusCode: 400,
});
export const unsupportedMediaType = createErrorFactory({
  code: 'request.unsupported_media_type',
  message: '请以 application/json 提交 / Send the body as application/json.',
  statusCode: 415,
});

/** Field paths and messages only: the submitted values (possibly a reporter's words) are never echoed. */
export function issuesOf(error: z.ZodError) {
  return error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationFailed({ issues: issuesOf(parsed.error) });
  return parsed.data;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type)) throw unsupportedMediaType();
  let text: string;
  try {
    text = utf8.decode(await c.req.arrayBuffer());
  } catch {
    throw invalidUtf8();
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformedJson();
  }
  // A parsed string can hold a control character only from an escape (JSON refuses them raw):
  // `\u0000`–`\u001f`, `\b` or `\f`. A text without any such escape needs no walk of the value.
  if (mayEscapeControl(text)) refuseControls(value);
  return parseWith(schema, value);
}

/**
 * Whether JSON text has an escape that can stand for a control character: `\u000…`/`\u001…`, `\b`
 * or `\f`. Hand-written rather than a regular expression: it jumps from backslash to backslash
 * (`indexOf`), where a pattern ran over every character of a report with a 1 MiB file in it
 * (0.7 ms a request); an escaped backslash is stepped over whole.
 */
function mayEscapeControl(text: string): boolean {
  for (let i = text.indexOf('\\'); i !== -1; i = text.indexOf('\\', i + 2)) {
    const next = text.charCodeAt(i + 1);
    if (next === 0x62 || next === 0x66) return true; // b, f
    if (next === 0x75 && text.charCodeAt(i + 2) === 0x30 && text.charCodeAt(i + 3) === 0x30) {
      const third = text.charCodeAt(i + 4);
      if (third === 0x30 || third === 0x31) return true; // u000…, u001…
    }
  }
  return false;
}

/** A 400 naming the first field holding NUL or another C0 control character (text.ts). */
export function refuseControls(value: unknown): void {
  const path = controlPath(value);
  if (path !== null) throw validationFailed({ issues: [{ path, message: 'control characters (such as NUL) are not allowed' }] });
}

export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const query = c.req.query();
  refuseControls(query);
  return parseWith(schema, query);
}

/**
 * A path id must be a UUID: anything else is a 400 naming the parameter, and the database never
 * sees it. (`notFound` is what a well-formed id of nothing gets, from the use case.)
 */
export function idParam(raw: string, _notFound?: () => Error, name = 'id'): string {
  if (!UUID.test(raw)) throw validationFailed({ issues: [{ path: name, message: 'not a UUID' }] });
  return raw;
}

/**
 * A list cursor (`base64url("<ISO time>|<uuid>")`) as the list queries take it; anything else is a
 * 400 (never a database error): the time must be a real date PostgreSQL can hold, the id a UUID.
 */
export function decodeCursor(cursor: string | undefined): { at: Date; id: string } | undefined {
  if (!cursor) return undefined;
  const [at, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const date = new Date(at ?? '');
  const year = date.getUTCFullYear();
  if (rest.length || !id || !UUID.test(id) || Number.isNaN(date.getTime()) || year < 1 || year > 9999) {
    throw validationFailed({ issues: [{ path: 'cursor', message: 'invalid cursor' }] });
  }
  return { at: date, id };
}

/**
 * A download's `Content-Disposition`: an ASCII fallback name for old clients (anything else, a quote
 * or a backslash becomes `_`) and the real name, Chinese included, in RFC 5987 form beside it.
 */
export function contentDisposition(name: string, kind: 'attachment' | 'inline' = 'attachment'): string {
  return `${kind}; filename="${name.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
