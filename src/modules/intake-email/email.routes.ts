import { Hono } from 'hono';
import { idParam, readJson } from '../../app/http.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { AppEnv } from '../staff/http-env.ts';
import { quarantineNotFound } from './email.errors.ts';
import type { EmailUseCases } from './email.usecases.ts';
import { discardBody, releaseBody } from './email.schemas.ts';

export function quarantineRoutes(email: EmailUseCases, docs: ApiDocs) {
  const app = new Hono<AppEnv>();
  const tag = 'email';
  const id = (raw: string) => idParam(raw, quarantineNotFound);
  docs.add({ method: 'get', path: '/api/v1/staff/quarantine', summary: 'Mail held in quarantine: reason, detail and size, never the sender, address, subject or file names (the hotline unit’s operators and supervisors, admins)', tag, auth: 'staff', responses: { 200: 'Held mail', 403: 'Not of the hotline unit' } });
  app.get('/quarantine', async (c) => c.json({ items: await email.listQuarantine({ ctx: c.get('ctx')!, input: {} }) }));
  docs.add({ method: 'get', path: '/api/v1/staff/quarantine/:id', summary: 'Open quarantined mail: its words, the names of its attachments (never the files) and its ledger chain; the opening itself is a ledger event', tag, auth: 'staff', responses: { 200: 'The mail', 403: 'Not of the hotline unit', 404: 'No such mail' } });
  app.get('/quarantine/:id', async (c) => c.json(await email.viewQuarantine({ ctx: c.get('ctx')!, input: { id: id(c.req.param('id')) } })));
  docs.add({ method: 'post', path: '/api/v1/staff/quarantine/:id/release', summary: 'Release quarantined mail into a clue (an operator summarises it)', tag, auth: 'staff', body: releaseBody, responses: { 200: 'The new clue', 409: 'Already handled' } });
  app.post('/quarantine/:id/release', async (c) => c.json(await email.release({ ctx: c.get('ctx')!, input: { id: id(c.req.param('id')), narrative: (await readJson(c, releaseBody)).narrative } })));
  docs.add({ method: 'post', path: '/api/v1/staff/quarantine/:id/discard', summary: 'Discard quarantined mail, with a reason', tag, auth: 'staff', body: discardBody, responses: { 200: 'Discarded', 409: 'Already handled' } });
  app.post('/quarantine/:id/discard', async (c) => c.json(await email.discard({ ctx: c.get('ctx')!, input: { id: id(c.req.param('id')), reason: (await readJson(c, discardBody)).reason } })));
  return app;
}
