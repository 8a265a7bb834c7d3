import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit as streamingBodyLimit } from 'hono/body-limit';

type OnError = (c: Context) => Response | Promise<Response>;

/**
 * Hono's bodyLimit, without its cost for the common case. Hono's version touches
 * `c.req.raw.body` on every request, which makes @hono/node-server build a full web Request with
 * a ReadableStream over the socket; `c.req.json()`/`arrayBuffer()` could otherwise read the
 * body straight from Node's request. A declared Content-Length (which Node's parser holds the
 * body to) is checked from the header alone; any other body (chunked, or a Request built in
 * process without the header) is counted while it streams, as Hono does.
 */
export function bodyLimit(options: { maxSize: number; onError: OnError }): MiddlewareHandler {
  const streaming = streamingBodyLimit(options);
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number(declared) > options.maxSize ? options.onError(c) : next();
    }
    return streaming(c, next);
  };
}
