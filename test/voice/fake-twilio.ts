import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  method: string;
  path: string;
  authorized: boolean;
  form: Record<string, string>;
}

/**
 * A local stand-in for api.twilio.com (point TWILIO_API_BASE at it): serves recordings with basic
 * auth, deletes them, accepts Messages.json. Everything it receives is kept for assertions.
 */
export async function startFakeTwilio(accountSid: string, authToken: string) {
  const requests: FakeRequest[] = [];
  const recordings = new Map<string, Buffer>();
  const deleted: string[] = [];
  const messages: Record<string, string>[] = [];
  const state = { failRecordings: false };
  const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });

  const server = createServer(async (req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    const body = await readBody(req);
    const authorized = req.headers.authorization === expected;
    const form = Object.fromEntries(new URLSearchParams(body));
    requests.push({ method: req.method ?? '', path, authorized, form });
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (!authorized) return json(401, { code: 20003, message: 'Authenticate', status: 401 });
    const account = `/2010-04-01/Accounts/${accountSid}`;
    const rec = new RegExp(`^${account}/Recordings/(RE\\w+)(\\.mp3|\\.wav|\\.json)?$`).exec(path);
    if (rec && req.method === 'GET') {
      if (state.failRecordings) return json(500, { code: 20500, message: 'Internal error', status: 500 });
      const audio = recordings.get(rec[1]!);
      if (!audio) return json(404, { code: 20404, message: 'Not found', status: 404 });
      res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': String(audio.length) });
      return res.end(audio);
    }
    if (rec && req.method === 'DELETE') {
      deleted.push(rec[1]!);
      recordings.delete(rec[1]!);
      res.writeHead(204);
      return res.end();
    }
    if (path === `${account}/Messages.json` && req.method === 'POST') {
      messages.push(form);
      const sid = `SM${String(messages.length).padStart(32, '0')}`;
      return json(201, { sid, account_sid: accountSid, to: form.To, from: form.From, body: form.Body, status: 'queued', num_segments: '1' });
    }
    json(404, { code: 20404, message: 'Not found', status: 404 });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    recordings,
    deleted,
    messages,
    state,
    /** The URL Twilio would hand out for a recording (the app rewrites it to this server). */
    recordingUrl: (sid: string) => `https://api.twilio.com/2010-04-01/Accounts/${accountSid}/Recordings/${sid}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type FakeTwilio = Awaited<ReturnType<typeof startFakeTwilio>>;
