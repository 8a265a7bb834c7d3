import type { MiddlewareHandler } from 'hono';
import twilio from 'twilio';
import { bodyLimit } from '../../app/body-limit.ts';
import type { Config } from '../../app/config.ts';
import type { Logger } from '../../app/logger.ts';
import { stripControls } from '../../app/text.ts';
import type { TwilioParams } from './voice.schemas.ts';

/** The Hono environment of the Twilio webhooks: the checked form fields, control characters removed. */
export type TwilioEnv = { Variables: { twilio: TwilioParams } };

/** The raw path and query as requested (not re-encoded by `new URL`): Twilio signs exactly those characters. */
function pathAndQuery(rawUrl: string): string {
  return rawUrl.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
}

/** application/x-www-form-urlencoded → fields; a repeated field becomes a list, as Twilio's validator expects. */
export function formFields(raw: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/**
 * Every Twilio request is checked against `X-Twilio-Signature` over PUBLIC_BASE_URL + path + query
 * and the form fields, before anything else reads them. A refusal is a 403 and one log line with
 * the route and the reason only (never the body: it carries the caller's number).
 */
export function twilioSignature(config: Pick<Config, 'TWILIO_AUTH_TOKEN' | 'PUBLIC_BASE_URL'>, logger: Logger): MiddlewareHandler<TwilioEnv> {
  const base = config.PUBLIC_BASE_URL.replace(/\/+$/, '');
  return async (c, next) => {
    const isForm = /^application\/x-www-form-urlencoded\b/i.test(c.req.header('content-type') ?? '');
    const fields = isForm ? formFields(await c.req.text()) : {};
    const signature = c.req.header('x-twilio-signature') ?? '';
    const url = base + pathAndQuery(c.req.url);
    const reason = !config.TWILIO_AUTH_TOKEN
      ? 'TWILIO_AUTH_TOKEN is not configured'
      : !signature
        ? 'no signature'
        : !twilio.validateRequest(config.TWILIO_AUTH_TOKEN, signature, url, fields)
          ? 'signature mismatch'
          : null;
    if (reason) {
      logger.warn({ route: c.req.path, reason }, 'twilio request refused');
      return c.text('Forbidden', 403);
    }
    // Checked over the fields as sent; what the handlers read has control characters removed (text.ts).
    c.set('twilio', Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, stripControls(Array.isArray(v) ? (v[0] ?? '') : v)])));
    await next();
  };
}

/**
 * What every Twilio webhook (IVR steps, status and recording callbacks, SMS) passes first, in this
 * order: a 64 KiB body limit, then the signature check. src/roots/server.ts mounts them on
 * `/twilio/*` before the routes (voice.routes.ts, recording.routes.ts, sms.routes.ts).
 */
export function twilioWebhookGuards(config: Pick<Config, 'TWILIO_AUTH_TOKEN' | 'PUBLIC_BASE_URL'>, logger: Logger): MiddlewareHandler<TwilioEnv>[] {
  return [bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.text('Payload Too Large', 413) }), twilioSignature(config, logger)];
}
