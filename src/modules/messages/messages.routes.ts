import { Hono } from 'hono';
import { idParam, readJson } from '../../app/http.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { AppEnv } from '../staff/http-env.ts';
import { clueNotFound } from '../clues/clues.errors.ts';
import { staffMessageBody } from './messages.schemas.ts';
import type { MessageUseCases } from './messages.usecases.ts';


export function staffMessageRoutes(messages: MessageUseCases, docs: ApiDocs) {
  const app = new Hono<AppEnv>();
  const tag = 'messages';
  const id = (raw: string) => idParam(raw, clueNotFound);

  docs.add({ method: 'get', path: '/api/v1/staff/clues/:id/messages', summary: 'The thread with the reporter', tag, auth: 'staff', responses: { 200: 'Messages, oldest first', 404: 'No such clue in my units' } });
  app.get('/:id/messages', async (c) => {
    return c.json({ items: await messages.threadForStaff({ ctx: c.get('ctx')!, input: { clueId: id(c.req.param('id')) } }) });
  });

  docs.add({ method: 'post', path: '/api/v1/staff/clues/:id/messages', summary: 'Ask the reporter a question or answer them (shown on their follow-up page)', tag, auth: 'staff', body: staffMessageBody, responses: { 201: 'Posted', 403: 'Role may not', 404: 'No such clue in my units' } });
  app.post('/:id/messages', async (c) => {
    const clueId = id(c.req.param('id'));
    const { body } = await readJson(c, staffMessageBody);
    const m = await messages.postStaffMessage({ ctx: c.get('ctx')!, input: { clueId, body } });
    return c.json({ id: m!.id, author: m!.author, body: m!.body, createdAt: m!.createdAt }, 201);
  });

  return app;
}
