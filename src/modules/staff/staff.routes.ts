import { Hono } from 'hono';
import type { AppEnv } from './http-env.ts';
import { idParam, readJson } from '../../app/http.ts';
import { clientAddress } from '../../app/rate-limit.ts';
import type { LoginGuard } from './login.guard.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import { changePasswordBody, createStaffBody, createUnitBody, loginBody, totpConfirmBody, updateStaffBody } from './staff.schemas.ts';
import { staffNotFound } from './staff.errors.ts';
import type { StaffUseCases } from './staff.usecases.ts';

export function staffRoutes(staff: StaffUseCases, docs: ApiDocs, guard: LoginGuard, trustedProxies: number) {
  const app = new Hono<AppEnv>();
  const tag = 'staff';

  docs.add({ method: 'post', path: '/api/v1/staff/login', summary: 'Sign in; returns a bearer token', tag, body: loginBody, responses: { 200: 'Signed in', 401: 'Wrong username or password (auth.invalid_credentials), a code is needed (auth.totp_required) or wrong (auth.totp_invalid)', 429: 'Too many attempts: wait Retry-After seconds' } });
  app.post('/login', async (c) => {
    const input = await readJson(c, loginBody);
    try {
      await guard.before(input.username, clientAddress(c, trustedProxies));
    } catch (err) {
      const wait = (err as { details?: { retryAfterSeconds?: number } }).details?.retryAfterSeconds;
      if (wait) c.header('Retry-After', String(wait));
      throw err;
    }
    const { token, expiresAt, staff: s } = await staff.login(input);
    await guard.succeeded(input.username);
    return c.json({ token, expiresAt, staff: { id: s.id, username: s.username, displayName: s.displayName, role: s.role, unitId: s.unit } });
  });

  docs.add({ method: 'post', path: '/api/v1/staff/logout', summary: 'Sign out (ends this token)', tag, auth: 'staff', responses: { 204: 'Signed out' } });
  app.post('/logout', async (c) => {
    await staff.logout(c.get('token')!);
    return c.body(null, 204);
  });

  docs.add({ method: 'post', path: '/api/v1/staff/logout-everywhere', summary: 'Sign out on every device (ends all of my tokens)', tag, auth: 'staff', responses: { 204: 'Signed out everywhere' } });
  app.post('/logout-everywhere', async (c) => {
    await staff.logoutEverywhere({ ctx: c.get('ctx')!, input: {} });
    return c.body(null, 204);
  });

  docs.add({ method: 'post', path: '/api/v1/staff/me/password', summary: 'Change my password (my other sessions end)', tag, auth: 'staff', body: changePasswordBody, responses: { 204: 'Changed', 401: 'Current password wrong' } });
  app.post('/me/password', async (c) => {
    await staff.changePassword({ ctx: c.get('ctx')!, input: { ...(await readJson(c, changePasswordBody)), token: c.get('token')! } });
    return c.body(null, 204);
  });

  docs.add({ method: 'post', path: '/api/v1/staff/me/totp', summary: 'Start two-factor enrolment: a TOTP secret and otpauth:// URL for the authenticator app', tag, auth: 'staff', responses: { 200: '{ secret, otpauthUrl }', 409: 'Already enabled' } });
  app.post('/me/totp', async (c) => c.json(await staff.startTotp({ ctx: c.get('ctx')!, input: {} })));

  docs.add({ method: 'post', path: '/api/v1/staff/me/totp/confirm', summary: 'Confirm enrolment with a code; returns ten one-time recovery codes (shown once)', tag, auth: 'staff', body: totpConfirmBody, responses: { 200: '{ recoveryCodes }', 401: 'Wrong code', 409: 'Not started or already enabled' } });
  app.post('/me/totp/confirm', async (c) => c.json(await staff.confirmTotp({ ctx: c.get('ctx')!, input: { code: (await readJson(c, totpConfirmBody)).code } })));

  docs.add({ method: 'post', path: '/api/v1/staff/users/:id/deactivate', summary: 'Deactivate an account (admin): its sessions end at once', tag, auth: 'staff', responses: { 204: 'Deactivated', 403: 'Not an admin', 404: 'No such account' } });
  app.post('/users/:id/deactivate', async (c) => {
    await staff.setActive({ ctx: c.get('ctx')!, input: { staffId: idParam(c.req.param('id'), staffNotFound), active: false } });
    return c.body(null, 204);
  });
  docs.add({ method: 'post', path: '/api/v1/staff/users/:id/activate', summary: 'Reactivate an account (admin)', tag, auth: 'staff', responses: { 204: 'Activated', 403: 'Not an admin', 404: 'No such account' } });
  app.post('/users/:id/activate', async (c) => {
    await staff.setActive({ ctx: c.get('ctx')!, input: { staffId: idParam(c.req.param('id'), staffNotFound), active: true } });
    return c.body(null, 204);
  });
  docs.add({ method: 'post', path: '/api/v1/staff/users/:id/totp/reset', summary: 'Remove an account’s second factor (admin, audited): it must enrol again; its sessions end', tag, auth: 'staff', responses: { 204: 'Reset', 403: 'Not an admin', 404: 'No such account' } });
  app.post('/users/:id/totp/reset', async (c) => {
    await staff.resetTotp({ ctx: c.get('ctx')!, input: { staffId: idParam(c.req.param('id'), staffNotFound) } });
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
    const u = await staff.createUnit({ ctx: c.get('ctx')!, input: await readJson(c, createUnitBody) });
    return c.json({ id: u.id, code: u.code, name: u.name, nameEn: u.nameEn, kind: u.kind, parentId: u.parent }, 201);
  });

  docs.add({ method: 'post', path: '/api/v1/staff/users', summary: 'Create a staff account (admin)', tag, auth: 'staff', body: createStaffBody, responses: { 201: 'Created', 403: 'Not an admin', 409: 'Username taken' } });
  app.post('/users', async (c) => {
    const s = await staff.createStaff({ ctx: c.get('ctx')!, input: await readJson(c, createStaffBody) });
    return c.json({ id: s.id, username: s.username, displayName: s.displayName, role: s.role, unitId: s.unit }, 201);
  });

  docs.add({ method: 'patch', path: '/api/v1/staff/users/:id', summary: 'Rename or move a staff account (admin); the clues naming it are re-evaluated', tag, auth: 'staff', body: updateStaffBody, responses: { 200: 'Changed', 403: 'Not an admin', 404: 'No such account or unit' } });
  app.patch('/users/:id', async (c) => {
    const s = await staff.updateStaff({ ctx: c.get('ctx')!, input: { staffId: idParam(c.req.param('id'), staffNotFound), ...(await readJson(c, updateStaffBody)) } });
    return c.json({ id: s.id, username: s.username, displayName: s.displayName, role: s.role, unitId: s.unit });
  });

  return app;
}
