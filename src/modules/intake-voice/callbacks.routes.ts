import { Hono } from 'hono';
import { validationFailed } from '../../app/errors.ts';
import { idParam, readJson, readQuery } from '../../app/http.ts';
import type { Clock } from '../../app/clock.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { AppEnv } from '../staff/http-env.ts';
import type { CallbackUseCases } from './callbacks.usecases.ts';
import { doneBody, listQuery, statsQuery } from './callbacks.schemas.ts';
import type { HotlineStatsUseCases } from './hotline-stats.usecases.ts';

/** Staff side of the hotline: the call-backs owed, and the figures. Mounted under /api/v1/staff. */
export function callbackRoutes(callbacks: CallbackUseCases & Pick<HotlineStatsUseCases, 'stats'>, clock: Clock, docs: ApiDocs) {
  const app = new Hono<AppEnv>();
  const tag = 'hotline';
  const id = (raw: string) => idParam(raw);

  docs.add({ method: 'get', path: '/api/v1/staff/callbacks', summary: 'Call-backs owed to callers who got no answer, soonest due first', tag, auth: 'staff', query: listQuery, responses: { 200: 'Call-backs (no numbers)', 403: 'Not of the hotline unit (its operators, supervisors) nor an admin' } });
  app.get('/callbacks', async (c) => {
    const q = readQuery(c, listQuery);
    return c.json({ items: await callbacks.list({ ctx: c.get('ctx')!, input: { state: q.state, overdue: q.overdue === 'true', limit: q.limit } }) });
  });

  docs.add({ method: 'get', path: '/api/v1/staff/callbacks/:id', summary: 'One call-back', tag, auth: 'staff', responses: { 200: 'The call-back', 404: 'No such call-back' } });
  app.get('/callbacks/:id', async (c) => c.json(await callbacks.load({ ctx: c.get('ctx')!, input: { id: id(c.req.param('id')) } })));

  docs.add({ method: 'post', path: '/api/v1/staff/callbacks/:id/number', summary: 'The number to call back (the hotline unit’s operators and supervisors, admins); every view is recorded', tag, auth: 'staff', responses: { 200: 'The number', 403: 'Not of the hotline unit', 404: 'No such call-back, or closed' } });
  app.post('/callbacks/:id/number', async (c) => c.json(await callbacks.number({ ctx: c.get('ctx')!, input: { id: id(c.req.param('id')) } })));

  docs.add({ method: 'post', path: '/api/v1/staff/callbacks/:id/done', summary: 'Mark a call-back done; its number is erased', tag, auth: 'staff', body: doneBody, responses: { 200: 'Done', 404: 'No such call-back', 409: 'Already closed' } });
  app.post('/callbacks/:id/done', async (c) => {
    const body = c.req.header('content-type') ? await readJson(c, doneBody) : doneBody.parse({});
    return c.json(await callbacks.complete({ ctx: c.get('ctx')!, input: { id: id(c.req.param('id')), ...body } }));
  });

  docs.add({ method: 'get', path: '/api/v1/staff/hotline-stats', summary: 'Hotline figures for calls started in [from, to) (default: the last 7 days)', tag, auth: 'staff', query: statsQuery, responses: { 200: 'Calls, answered by IVR, reached an operator, abandoned, called back, median time to call-back' } });
  app.get('/hotline-stats', async (c) => {
    const q = readQuery(c, statsQuery);
    const to = q.to ? new Date(q.to) : clock.now();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 7 * 86_400_000);
    if (from >= to) throw validationFailed({ issues: [{ path: 'from', message: 'from must be before to' }] });
    return c.json(await callbacks.stats({ ctx: c.get('ctx')!, input: { from, to } }));
  });

  return app;
}
