import { Hono } from 'hono';
import { forbidden, validationFailed } from '../../app/errors.ts';
import { idParam, readJson, readQuery } from '../../app/http.ts';
import type { Metrics } from '../../app/metrics.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { AppEnv } from '../../app/server.ts';
import { can } from '../staff/access.ts';
import { listQuery, registerClueBody, revealBody, transitionBody } from './clues.schemas.ts';
import type { ClueUseCases } from './clues.usecases.ts';
import { formatTrackingCode } from './tracking-code.ts';
import { clueNotFound } from './clues.errors.ts';

const clueId = (id: string) => idParam(id, clueNotFound);

export function decodeCursor(cursor: string | undefined) {
  if (!cursor) return undefined;
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const receivedAt = new Date(at ?? '');
  if (!id || Number.isNaN(receivedAt.getTime())) throw validationFailed({ issues: [{ path: 'cursor', message: 'invalid cursor' }] });
  return { receivedAt, id };
}

export function staffClueRoutes(clues: ClueUseCases, docs: ApiDocs, metrics: Metrics) {
  const app = new Hono<AppEnv>();
  const tag = 'clues';

  docs.add({ method: 'post', path: '/api/v1/staff/clues', summary: 'Register a clue taken by letter, visit or phone', tag, auth: 'staff', body: registerClueBody, responses: { 201: 'Registered; the secret is shown only here', 403: 'Role may not register', 422: 'Unknown unit' } });
  app.post('/', async (c) => {
    const principal = c.get('principal')!;
    if (!can.registerClues(principal)) throw forbidden();
    const body = await readJson(c, registerClueBody);
    const { clue, trackingCode, secret } = await clues.registerClue(`staff:${principal.id}`, {
      ...body,
      receivedAt: body.receivedAt ? new Date(body.receivedAt) : undefined,
    });
    metrics.cluesRegistered.inc({ channel: clue.channel });
    return c.json({ ...clues.publicView(clue), trackingCodeDisplay: formatTrackingCode(trackingCode), secret }, 201);
  });

  docs.add({ method: 'get', path: '/api/v1/staff/clues', summary: 'List clues of my units, newest first', tag, auth: 'staff', query: listQuery, responses: { 200: 'A page of clues and the next cursor' } });
  app.get('/', async (c) => {
    const q = readQuery(c, listQuery);
    const page = await clues.listClues(c.get('principal')!, {
      ...q,
      receivedFrom: q.receivedFrom ? new Date(q.receivedFrom) : undefined,
      receivedTo: q.receivedTo ? new Date(q.receivedTo) : undefined,
      cursor: decodeCursor(q.cursor),
    });
    return c.json(page);
  });

  docs.add({ method: 'get', path: '/api/v1/staff/clues/:id', summary: 'One clue with its accused, attachments and ledger events', tag, auth: 'staff', responses: { 200: 'The clue', 404: 'No such clue in my units' } });
  app.get('/:id', async (c) => c.json(await clues.getClue(c.get('principal')!, clueId(c.req.param('id')))));

  docs.add({ method: 'post', path: '/api/v1/staff/clues/:id/transitions', summary: 'Change a clue’s status (accept, decline, conclude, …)', tag, auth: 'staff', body: transitionBody, responses: { 200: 'Changed', 409: 'Not allowed from the current status', 422: 'Missing reason, finding or merge target' } });
  app.post('/:id/transitions', async (c) =>
    c.json(await clues.changeStatus(c.get('principal')!, clueId(c.req.param('id')), await readJson(c, transitionBody))),
  );

  docs.add({ method: 'post', path: '/api/v1/staff/clues/:id/reporter/reveal', summary: 'Open the sealed reporter identity (recorded on the ledger)', tag, auth: 'staff', body: revealBody, responses: { 200: 'The identity', 403: 'Role may not, or recusal', 404: 'Anonymous or no such clue' } });
  app.post('/:id/reporter/reveal', async (c) => {
    const { purpose } = await readJson(c, revealBody);
    return c.json(await clues.revealReporter(c.get('principal')!, clueId(c.req.param('id')), purpose));
  });

  return app;
}
