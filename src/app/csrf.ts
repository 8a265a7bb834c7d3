import { createHmac, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { createErrorFactory } from './errors.ts';

export const csrfFailed = createErrorFactory({
  code: 'request.csrf',
  message: '页面已过期，请刷新后重新提交 / This page has expired; reload it and submit again.',
  statusCode: 403,
});

const COOKIE = 'csrf';

/**
 * Double-submit token for the citizen forms: a signed random value in a SameSite=Strict cookie
 * and the same value in a hidden field. Another site can neither read the cookie nor make the
 * browser send it, and the signature stops a planted cookie.
 */
export function createCsrf(secretKey: KeyObject) {
  const key = createHmac('sha256', secretKey).update('csrf-token-key').digest();
  const sign = (nonce: string) => createHmac('sha256', key).update(nonce).digest('base64url');

  function issue(c: Context): string {
    const existing = getCookie(c, COOKIE);
    if (existing && valid(existing)) return existing;
    const nonce = randomBytes(18).toString('base64url');
    const token = `${nonce}.${sign(nonce)}`;
    setCookie(c, COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/', secure: c.req.url.startsWith('https:') });
    return token;
  }

  function valid(token: string): boolean {
    const [nonce, sig] = token.split('.');
    if (!nonce || !sig) return false;
    const a = Buffer.from(sig);
    const b = Buffer.from(sign(nonce));
    return a.length === b.length && timingSafeEqual(a, b);
  }

  function verify(c: Context, submitted: unknown): void {
    const cookie = getCookie(c, COOKIE);
    if (typeof submitted !== 'string' || !cookie || submitted !== cookie || !valid(cookie)) throw csrfFailed();
  }

  return { issue, verify };
}

export type Csrf = ReturnType<typeof createCsrf>;
