import { Hono } from 'hono';
import { z } from 'zod';
import { idParam, readJson, readQuery } from '../../app/http.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { AppEnv } from '../staff/http-env.ts';
import { deadlineNotFound } from './deadlines.errors.ts';
import type { DeadlineUseCases } from './deadlines.usecases.ts';
import { listQuery, reasonBody } from './deadlines.schemas.ts';

export function deadlineRoutes(deadlines: DeadlineUseCases, docs: ApiDocs) {
  const app = new Hono<AppEnv>();
  const tag = 'deadlines';
  const id = (raw: string) => idParam(raw, deadlineNotFound);

  docs.add({ method: 'get', path: '/api/v1/staff/deadlines', summary: 'Deadlines due soon, missed, or open, on clues of my units', tag, auth: 'staff', query: listQuery, responses: { 200: 'Deadlines, soonest first' } });
  app.get('/deadlines', async (c) => c.json({ items: await deadlines.list({ ctx: c.get('ctx')!, input: readQuery(c, listQuery) }) }));

  docs.add({ method: 'post', path: '/api/v1/staff/deadlines/:id/extend', summary: 'Approve an extension (supervisor), within the policy’s allowance', tag, auth: 'staff', body: reasonBody, responses: { 200: 'Extended', 403: 'Needs a supervisor', 409: 'No (further) extension allowed or closed' } });
  app.post('/deadlines/:id/extend', async (c) => {
    const { reason } = await readJson(c, reasonBody);
    return c.json(await deadlines.extend({ ctx: c.get('ctx')!, input: { deadlineId: id(c.req.param('id')), reason } }));
  });

  docs.add({ method: 'post', path: '/api/v1/staff/deadlines/:id/pause', summary: 'Pause the clock (where the policy allows), with a reason', tag, auth: 'staff', body: reasonBody, responses: { 200: 'Paused', 409: 'Not pausable' } });
  app.post('/deadlines/:id/pause', async (c) => {
    const { reason } = await readJson(c, reasonBody);
    return c.json(await deadlines.pause({ ctx: c.get('ctx')!, input: { deadlineId: id(c.req.param('id')), reason } }));
  });

  docs.add({ method: 'post', path: '/api/v1/staff/deadlines/:id/resume', summary: 'Resume a paused clock; the due date moves by the paused time', tag, auth: 'staff', responses: { 200: 'Resumed', 409: 'Not paused' } });
  app.post('/deadlines/:id/resume', async (c) => c.json(await deadlines.resume({ ctx: c.get('ctx')!, input: { deadlineId: id(c.req.param('id')) } })));

  docs.add({ method: 'get', path: '/api/v1/staff/notices', summary: 'Reminders, misses and escalations for my unit and role', tag, auth: 'staff', responses: { 200: 'Notices, newest first' } });
  app.get('/notices', async (c) => c.json({ items: await deadlines.notices({ ctx: c.get('ctx')!, input: {} }) }));

  docs.add({ method: 'get', path: '/api/v1/staff/deadline-policy', summary: 'The deadline policy new deadlines get', tag, auth: 'staff', responses: { 200: 'The policy' } });
  app.get('/deadline-policy', async (c) => c.json(await deadlines.currentPolicy()));

  docs.add({ method: 'put', path: '/api/v1/staff/deadline-policy', summary: 'Replace the deadline policy (admin); applies to deadlines created afterwards', tag, auth: 'staff', responses: { 200: 'Saved', 403: 'Not an admin', 422: 'Invalid policy' } });
  app.put('/deadline-policy', async (c) => c.json(await deadlines.setPolicy({ ctx: c.get('ctx')!, input: { policy: await readJson(c, z.unknown()) } })));

  return app;
}
