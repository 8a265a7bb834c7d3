import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_BODY_MAX } from '../src/roots/server.ts';
import { createTestApp, type TestEnv } from './helpers.ts';

// Issue 12, item 2: every route bounds its body. A declared Content-Length over the limit is
// refused before a byte is read (413); a chunked body is cut off once it passes the limit (413);
// the upload routes keep their larger limits. Over a real socket, as a client sends it.

let t: TestEnv;
let server: ServerType;
let port: number;

beforeAll(async () => {
  t = await createTestApp();
  server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  (server as unknown as { closeAllConnections?: () => void })?.closeAllConnections?.();
  await new Promise((r) => server?.close(r));
  await t?.close();
});

interface Sent {
  status: number;
  body: string;
  /** Bytes of body written before the answer came. */
  written: number;
}

/**
 * Sends headers, then (chunked) body chunks of 64 KiB until the server answers or `maxBytes` went
 * out; with `declared`, only the headers (a Content-Length the client never fulfils).
 */
function send(path: string, opts: { declared?: number; maxBytes?: number; contentType?: string }): Promise<Sent> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const headers: Record<string, string | number> = { 'content-type': opts.contentType ?? 'application/x-www-form-urlencoded' };
    if (opts.declared !== undefined) headers['content-length'] = opts.declared;
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        resolve({ status: res.statusCode!, body, written });
        req.destroy();
      });
    });
    req.on('error', (err) => (answered ? undefined : reject(err)));
    if (opts.declared !== undefined) {
      req.flushHeaders();
      return;
    }
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      while (!answered && written < (opts.maxBytes ?? 0)) {
        written += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

describe('request bodies are bounded on every route', () => {
  it('a declared 200 MB body to POST /follow-up and POST /referrals/:id/actions is refused unread with a 413', { timeout: 30_000 }, async () => {
    for (const path of ['/follow-up', '/referrals/00000000-0000-4000-8000-000000000000/actions', '/twilio/sms', '/api/v1/staff/login']) {
      const res = await send(path, { declared: 200 * 1024 * 1024 });
      expect(res.status, path).toBe(413);
      expect(JSON.parse(res.body).error.code).toBe('request.too_large');
    }
  });

  it('a chunked body is cut off once it passes the limit (413), long before the client is done', { timeout: 60_000 }, async () => {
    for (const path of ['/follow-up', '/referrals/00000000-0000-4000-8000-000000000000/actions']) {
      const res = await send(path, { maxBytes: 50 * 1024 * 1024 });
      expect(res.status, path).toBe(413);
      expect(res.written).toBeLessThan(20 * 1024 * 1024);
    }
  });

  it('the upload routes keep their own, larger limit', async () => {
    const padded = `{"narrative":"村主任冒领低保，每月都领。"${' '.repeat(PUBLIC_BODY_MAX * 2)}}`;
    const res = await t.app.request('/api/v1/reports', { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(padded)) }, body: padded });
    expect(res.status).toBe(201);
    const small = await t.app.request('/follow-up', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(PUBLIC_BODY_MAX * 2) }, body: 'a'.repeat(PUBLIC_BODY_MAX * 2) });
    expect(small.status).toBe(413);
  });
});
