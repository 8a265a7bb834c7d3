import twilio from 'twilio';
import type { Config } from '../../app/config.ts';

export const TWILIO_API_ORIGIN = 'https://api.twilio.com';

type TwilioClient = ReturnType<typeof twilio>;
type RequestClient = NonNullable<twilio.ClientOpts['httpClient']>;
type RequestOptions = Parameters<RequestClient['request']>[0];

/** What twilio's REST layer needs of an HTTP client (its `RequestClient` interface). */
export interface TwilioHttpClient {
  request(opts: RequestOptions): Promise<{ statusCode: number; body: unknown; headers: unknown }>;
}

/** `https://api.twilio.com/…` → `<base>/…`; any other URL unchanged. */
export function rewriteApiUrl(uri: string, base: string | undefined): string {
  if (!base || !uri.startsWith(TWILIO_API_ORIGIN)) return uri;
  const rest = uri.slice(TWILIO_API_ORIGIN.length);
  if (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?') && !rest.startsWith(':')) return uri;
  return base.replace(/\/$/, '') + rest.replace(/^:443/, '');
}

function formBody(data: Record<string, unknown>): URLSearchParams {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(data)) {
    if (v === undefined || v === null) continue;
    for (const item of Array.isArray(v) ? v : [v]) form.append(k, item instanceof Date ? item.toISOString() : String(item));
  }
  return form;
}

/**
 * twilio-node has no setting for its API origin, so this client (twilio's `httpClient` option)
 * rewrites `https://api.twilio.com` to `TWILIO_API_BASE` (a local fake in tests, a proxy in some
 * deployments) and sends with `fetch`. Basic auth as twilio passes it.
 */
export class RewritingHttpClient implements TwilioHttpClient {
  readonly base: string;
  readonly timeoutMs: number;

  constructor(base: string, timeoutMs = 15_000) {
    this.base = base;
    this.timeoutMs = timeoutMs;
  }

  async request(opts: RequestOptions) {
    const url = new URL(rewriteApiUrl(opts.uri, this.base));
    if (opts.params) for (const [k, v] of formBody(opts.params as Record<string, unknown>)) url.searchParams.append(k, v);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    if (opts.username && opts.password) headers.Authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    let body: string | undefined;
    if (opts.data && opts.method !== 'get' && opts.method !== 'delete') {
      const type = headers['Content-Type'] ?? 'application/x-www-form-urlencoded';
      body = type === 'application/json' ? JSON.stringify(opts.data) : formBody(opts.data as Record<string, unknown>).toString();
    }
    const res = await fetch(url, {
      method: opts.method.toUpperCase(),
      headers,
      body,
      redirect: opts.allowRedirects ? 'follow' : 'manual',
      signal: AbortSignal.timeout(opts.timeout ?? this.timeoutMs),
    });
    const responseHeaders: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      responseHeaders[name] = value;
    });
    return { statusCode: res.status, body: await res.text(), headers: responseHeaders };
  }
}

/**
 * The twilio REST client. `httpClient` overrides everything (tests may hand in their own); else
 * `TWILIO_API_BASE` selects the rewriting client; else twilio's own client talks to Twilio.
 */
export function createTwilioRestClient(
  config: Pick<Config, 'TWILIO_ACCOUNT_SID' | 'TWILIO_AUTH_TOKEN' | 'TWILIO_API_BASE'>,
  httpClient?: TwilioHttpClient,
): TwilioClient {
  if (!config.TWILIO_ACCOUNT_SID || !config.TWILIO_AUTH_TOKEN) {
    throw new Error('Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)');
  }
  const client = httpClient ?? (config.TWILIO_API_BASE ? new RewritingHttpClient(config.TWILIO_API_BASE) : undefined);
  return twilio(config.TWILIO_ACCOUNT_SID, config.TWILIO_AUTH_TOKEN, client ? { httpClient: client as unknown as RequestClient } : {});
}

/** The twilio REST client, made on first use (building it needs no network): one per hotline. */
export function lazyTwilioRest(config: Pick<Config, 'TWILIO_ACCOUNT_SID' | 'TWILIO_AUTH_TOKEN' | 'TWILIO_API_BASE'>, httpClient?: TwilioHttpClient): () => TwilioClient {
  let rest: TwilioClient | null = null;
  return () => (rest ??= createTwilioRestClient(config, httpClient));
}

export type TwilioRest = ReturnType<typeof lazyTwilioRest>;

/** A provider failure as a message that names no number (Twilio's own messages often quote the `To`). */
export function providerError(err: unknown): Error {
  const e = err as { status?: number; code?: number; name?: string };
  if (typeof e?.status === 'number') return new Error(`twilio HTTP ${e.status}${e.code ? ` code ${e.code}` : ''}`);
  return new Error(`twilio request failed (${e?.name ?? 'error'})`);
}
