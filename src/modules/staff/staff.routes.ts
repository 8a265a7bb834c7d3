import { Hono } from 'hono';
import type { AppEnv } from '../../app/server.ts';
import { idParam, readJson } from '../../app/http.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import { createStaffBody, createUnitBody, loginBody, updateStaffBody } from './staff.schemas.ts';
import { staffNotFound } from './staff.errors.ts';
import type { StaffUseCases } from './staff.usecases.ts';

export function staffRoutes(staff: StaffUseCases, docs: ApiDocs) {
  const app = new Hono<AppEnv>();
  const tag = 'staff';

  docs.add({ method: 'post', path: '/api/v1/staff/login', summary: 'Sign in; returns a bearer token', tag, body: loginBody, responses: { 200: 'Signed in', 401: 'Wrong username or password' } });
  app.post('/login', async (c) => {
    const { token, expiresAt, staff: s } = await staff.login(await readJson(c, loginBody));
    return c.json({ token, expiresAt, staff: { id: s.id, username: s.username, displayName: s.displayName, role: s.role, unitId: s.unit } });
  });

  docs.add({ method: 'post', path: '/api/v1/staff/logout', summary: 'Sign out (ends this token)', tag, auth: 'staff', responses: { 204: 'Signed out' } });
  app.post('/logout', async (c) => {
    await staff.logout(c.get('token')!);
    return c.body(null, 204);
  });

  docs.add({ method: 'get', path: '/api/v1/staff/me', summary: 'The signed-in staff member', tag, auth: 'staff', responses: { 200: 'Me', 401: 'Not signed in' } });
  app.get('/me', (c) => c.json(c.get('principal')));

  docs.add({ method: 'get', path: '/api/v1/staff/units', summary: 'The unit tree, flattened in path order', tag, auth: 'staff', responses: { 200: 'Units' } });
  app.get('/units', async (c) => {
    const units = await staff.listUnits();
    return c.json({ items: units.map((u) => ({ id: u.id, code: u.code, name: u.name, nameEn: u.nameEn, kind: u.kind, parentId: u.parent })) });
  });

  docs.add({ method: 'post', path: '/api/v1/staff/units', summary: 'Create a unit (admin)', tag, auth: 'staff', body: createUnitBody, responses: { 201: 'Created', 403: 'Not an admin', 409: 'Code taken', 422: 'Parent does not fit the tree' } });
  app.post('/units', async (c) => {
    const principal = c.get('principal')!;
    staff.requireAdmin(principal);
    const u = await staff.createUnit(await readJson(c, createUnitBody), `staff:${principal.id}`);
    return c.json({ id: u.id, code: u.code, name: u.name, nameEn: u.nameEn, kind: u.kind, parentId: u.parent }, 201);
  });

  docs.add({ method: 'post', path: '/api/v1/staff/users', summary: 'Create a staff account (admin)', tag, auth: 'staff', body: createStaffBody, responses: { 201: 'Created', 403: 'Not an admin', 409: 'Username taken' } });
  app.post('/users', async (c) => {
    const principal = c.get('principal')!;
    staff.requireAdmin(principal);
    const s = await staff.createStaff(await readJson(c, createStaffBody), `staff:${principal.id}`);
    return c.json({ id: s.id, username: s.username, displayName: s.displayName, role: s.role, unitId: s.unit }, 201);
  });

  docs.add({ method: 'patch', path: '/api/v1/staff/users/:id', summary: 'Rename or move a staff account (admin); the clues naming it are re-evaluated', tag, auth: 'staff', body: updateStaffBody, responses: { 200: 'Changed', 403: 'Not an admin', 404: 'No such account or unit' } });
  app.patch('/users/:id', async (c) => {
    const principal = c.get('principal')!;
    staff.requireAdmin(principal);
    const s = await staff.updateStaff(idParam(c.req.param('id'), staffNotFound), await readJson(c, updateStaffBody), `staff:${principal.id}`);
    return c.json({ id: s.id, username: s.username, displayName: s.displayName, role: s.role, unitId: s.unit });
  });

  return app;
}
