import { Hono } from 'hono';
import { readQuery } from '../../app/http.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { AppEnv } from '../staff/http-env.ts';
import { auditListQuery } from './audit.schemas.ts';
import type { AuditUseCases } from './audit.usecases.ts';

export function auditRoutes(audit: AuditUseCases, docs: ApiDocs) {
  const app = new Hono<AppEnv>();
  docs.add({ method: 'get', path: '/api/v1/staff/audit-events', summary: 'Events of an audit chain (admin): accounts, units, policy, exports', tag: 'audit', auth: 'staff', query: auditListQuery, responses: { 200: 'A page of events, oldest first', 403: 'Not an admin' } });
  app.get('/audit-events', async (c) => c.json(await audit.listEvents({ ctx: c.get('ctx')!, input: readQuery(c, auditListQuery) })));
  return app;
}
