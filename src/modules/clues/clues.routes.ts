import { Hono } from 'hono';
import { z } from 'zod';
import { decodeCursor, idParam, readJson, readQuery } from '../../app/http.ts';
import type { Metrics } from '../../app/metrics.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { AppEnv } from '../staff/http-env.ts';
import { addAccusedBody, linkAccusedBody, listQuery, registerClueBody, removeAccusedBody, revealBody, summaryBody, transitionBody, unlinkAccusedBody } from './clues.schemas.ts';
import type { ClueUseCases } from './clues.usecases.ts';
import { base64File } from '../attachments/attachments.schemas.ts';
import { formatTrackingCode } from './tracking-code.ts';
import { accusedNotFound, clueNotFound } from './clues.errors.ts';

const clueId = (id: string) => idParam(id, clueNotFound);

/** A clue-list cursor (app/http.ts decodes and checks it; malformed is a 400). */
export function clueCursor(raw: string | undefined) {
  const cursor = decodeCursor(raw);
  return cursor && { receivedAt: cursor.at, id: cursor.id };
}

/** The staff registration body with scans or photos of the letter as base64 (as `POST /api/v1/reports` takes them). */
export const registerWithFilesBody = registerClueBody.extend({
  attachments: z
    .array(z.object({ filename: z.string().trim().min(1).max(255), contentBase64: base64File }))
    .max(20)
    .default([]),
});

export function staffClueRoutes(clues: ClueUseCases, docs: ApiDocs, metrics: Metrics) {
  const app = new Hono<AppEnv>();
  const tag = 'clues';

  docs.add({ method: 'post', path: '/api/v1/staff/clues', summary: 'Register a clue taken by letter, visit or phone, with scans or photos of the letter as base64 (the same checks as a web report’s files)', tag, auth: 'staff', body: registerWithFilesBody, responses: { 201: 'Registered; the secret is shown only here', 403: 'Role may not register', 422: 'Unknown unit, or a file refused (attachment.rejected)' } });
  app.post('/', async (c) => {
    const { attachments, ...body } = await readJson(c, registerWithFilesBody);
    const files = attachments.map((a) => ({ name: a.filename, bytes: a.contentBase64 }));
    const { clue, trackingCode, secret } = await clues.registerByStaff({ ctx: c.get('ctx')!, input: { ...body, receivedAt: body.receivedAt ? new Date(body.receivedAt) : undefined, files } });
    metrics.cluesRegistered.inc({ channel: clue.channel });
    return c.json({ ...clues.publicView(clue), trackingCodeDisplay: formatTrackingCode(trackingCode), secret }, 201);
  });

  docs.add({ method: 'get', path: '/api/v1/staff/clues', summary: 'List clues of my units, newest first', tag, auth: 'staff', query: listQuery, responses: { 200: 'A page of clues and the next cursor' } });
  app.get('/', async (c) => {
    const q = readQuery(c, listQuery);
    const page = await clues.listClues({
      ctx: c.get('ctx')!,
      input: { ...q, receivedFrom: q.receivedFrom ? new Date(q.receivedFrom) : undefined, receivedTo: q.receivedTo ? new Date(q.receivedTo) : undefined, cursor: clueCursor(q.cursor) },
    });
    return c.json(page);
  });

  docs.add({ method: 'get', path: '/api/v1/staff/clues/:id', summary: 'One clue with its accused, attachments and ledger events', tag, auth: 'staff', responses: { 200: 'The clue', 404: 'No such clue in my units' } });
  app.get('/:id', async (c) => c.json(await clues.getClue({ ctx: c.get('ctx')!, input: { clueId: clueId(c.req.param('id')) } })));

  docs.add({ method: 'post', path: '/api/v1/staff/clues/:id/transitions', summary: 'Change a clue’s status (accept, decline, conclude, …)', tag, auth: 'staff', body: transitionBody, responses: { 200: 'Changed', 409: 'Not allowed from the current status', 422: 'Missing reason, finding or merge target' } });
  app.post('/:id/transitions', async (c) =>
    c.json(await clues.changeStatus({ ctx: c.get('ctx')!, input: { clueId: clueId(c.req.param('id')), ...(await readJson(c, transitionBody)) } })),
  );

  docs.add({ method: 'put', path: '/api/v1/staff/clues/:id/summary', summary: 'Set the clue’s 问题摘要 (≤ 50 characters; exports carry it, never the narrative)', tag, auth: 'staff', body: summaryBody, responses: { 200: 'Set', 422: 'It carries part of the reporter’s name, a phone or ID number, or an email address (the refusal is on the ledger)' } });
  app.put('/:id/summary', async (c) => {
    const { summary } = await readJson(c, summaryBody);
    return c.json(await clues.setSummary({ ctx: c.get('ctx')!, input: { clueId: clueId(c.req.param('id')), summary } }));
  });

  docs.add({ method: 'post', path: '/api/v1/staff/clues/:id/reporter/reveal', summary: 'Open the sealed reporter identity with a stated purpose (recorded on the ledger; operators and supervisors outside the excluded set)', tag, auth: 'staff', body: revealBody, responses: { 200: 'The identity (Cache-Control: no-store)', 403: 'Role may not', 404: 'Anonymous, no such clue, or excluded' } });
  app.post('/:id/reporter/reveal', async (c) => {
    const { purpose } = await readJson(c, revealBody);
    const identity = await clues.revealReporter({ ctx: c.get('ctx')!, input: { clueId: clueId(c.req.param('id')), purpose } });
    c.header('Cache-Control', 'no-store');
    return c.json(identity);
  });

  const accusedId = (id: string) => idParam(id, accusedNotFound);
  docs.add({ method: 'post', path: '/api/v1/staff/clues/:id/accused', summary: 'Add a person reported, with a reason (re-evaluates who may see the clue)', tag, auth: 'staff', body: addAccusedBody, responses: { 201: 'Added', 403: 'Role may not', 404: 'No such clue' } });
  app.post('/:id/accused', async (c) => c.json(await clues.addAccused({ ctx: c.get('ctx')!, input: { clueId: clueId(c.req.param('id')), ...(await readJson(c, addAccusedBody)) } }), 201));

  docs.add({ method: 'post', path: '/api/v1/staff/clues/:id/accused/:accusedId/remove', summary: 'Remove a person reported, with a reason', tag, auth: 'staff', body: removeAccusedBody, responses: { 200: 'Removed', 404: 'No such clue or accused' } });
  app.post('/:id/accused/:accusedId/remove', async (c) =>
    c.json(await clues.removeAccused({ ctx: c.get('ctx')!, input: { clueId: clueId(c.req.param('id')), accusedId: accusedId(c.req.param('accusedId')), reason: (await readJson(c, removeAccusedBody)).reason } })),
  );

  docs.add({ method: 'post', path: '/api/v1/staff/clues/:id/accused/:accusedId/links', summary: 'Say a staff account is (same_person) or is not (not_same_person: a wrong name match) this person reported, with a reason', tag, auth: 'staff', body: linkAccusedBody, responses: { 200: 'Linked', 404: 'No such clue, accused or staff account' } });
  app.post('/:id/accused/:accusedId/links', async (c) =>
    c.json(await clues.linkAccused({ ctx: c.get('ctx')!, input: { clueId: clueId(c.req.param('id')), accusedId: accusedId(c.req.param('accusedId')), ...(await readJson(c, linkAccusedBody)) } })),
  );

  docs.add({ method: 'post', path: '/api/v1/staff/clues/:id/accused/:accusedId/unlink', summary: 'Withdraw a link between a person reported and a staff account, with a reason', tag, auth: 'staff', body: unlinkAccusedBody, responses: { 200: 'Unlinked', 404: 'No such clue, accused or link' } });
  app.post('/:id/accused/:accusedId/unlink', async (c) =>
    c.json(await clues.unlinkAccused({ ctx: c.get('ctx')!, input: { clueId: clueId(c.req.param('id')), accusedId: accusedId(c.req.param('accusedId')), ...(await readJson(c, unlinkAccusedBody)) } })),
  );

  return app;
}
