import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import { type Orm, sql } from '../../app/db.ts';
import { forbidden, notAuthenticated } from '../../app/errors.ts';
import type { Logger } from '../../app/logger.ts';
import { can, type Principal } from './access.ts';
import { dummyPasswordHash, hashPassword, verifyPassword } from './password.ts';
import { Staff, type StaffRole, StaffSession } from './staff.entity.ts';
import { invalidCredentials, staffNotFound, unitCodeTaken, unitInvalidParent, unitNotFound, usernameTaken } from './staff.errors.ts';
import { Unit, type UnitKind } from './unit.entity.ts';
import { type Actor, appendAuditEvent } from '../clues/ledger.ts';
import { recomputeForStaff } from '../visibility/visibility.ts';

const allowedParent: Record<UnitKind, readonly (UnitKind | null)[]> = {
  district: [null],
  street: ['district'],
  town: ['district'],
  residents_committee: ['street', 'town'],
  villagers_committee: ['street', 'town'],
};

export interface StaffDeps {
  orm: Orm;
  clock: Clock;
  logger: Logger;
  sessionTtlHours: number;
}

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

export function createStaffUseCases({ orm, clock, logger, sessionTtlHours }: StaffDeps) {
  /** `by`: who did it, for the system audit chain (an admin, or `system:seed` at first start). */
  async function createUnit(input: { code: string; name: string; nameEn?: string; kind: UnitKind; parentId?: string | null }, by: Actor = 'system:seed') {
    try {
      return await orm.em.fork().transactional(async (em) => {
        const parent = input.parentId ? await em.findOne(Unit, { id: input.parentId }) : null;
        if (input.parentId && !parent) throw unitNotFound({ parentId: input.parentId });
        if (!allowedParent[input.kind].includes(parent?.kind ?? null)) throw unitInvalidParent();
        const id = randomUUID();
        const now = clock.now();
        const unit = em.create(Unit, {
          id,
          code: input.code,
          name: input.name,
          nameEn: input.nameEn ?? null,
          kind: input.kind,
          parent: parent?.id ?? null,
          path: `${parent?.path ?? '/'}${id}/`,
          createdAt: now,
        });
        await em.flush();
        await appendAuditEvent(em, { type: 'unit.created', actor: by, data: { unitId: id, code: input.code, kind: input.kind, parentId: parent?.id ?? null } }, now);
        return unit;
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw unitCodeTaken();
      throw err;
    }
  }

  async function listUnits() {
    return orm.em.fork().find(Unit, {}, { orderBy: { path: 'asc' } });
  }

  async function createStaff(
    input: {
      username: string;
      displayName: string;
      password: string;
      role: StaffRole;
      unitId: string;
      disciplineBodyId?: string | null;
    },
    by: Actor = 'system:seed',
  ) {
    // Hashed before the transaction: the hash is slow on purpose and needs no connection.
    const passwordHash = await hashPassword(input.password);
    let staff: Staff;
    try {
      staff = await orm.em.fork().transactional(async (em) => {
        if (!(await em.findOne(Unit, { id: input.unitId }))) throw unitNotFound({ unitId: input.unitId });
        const now = clock.now();
        const created = em.create(Staff, {
          id: randomUUID(),
          username: input.username,
          displayName: input.displayName,
          passwordHash,
          role: input.role,
          unit: input.unitId,
          disciplineBody: input.disciplineBodyId ?? null,
          active: true,
          createdAt: now,
        });
        await em.flush();
        await appendAuditEvent(
          em,
          {
            type: 'staff.created',
            actor: by,
            data: { staffId: created.id, username: created.username, role: created.role, unitId: created.unit, disciplineBodyId: created.disciplineBody },
          },
          now,
        );
        // A new account may be a person some clue accuses, or a registrant of an accused's relative:
        // those clues' excluded sets are re-evaluated before the account can sign in.
        await recomputeForStaff(em, created.id);
        return created;
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw usernameTaken();
      throw err;
    }
    logger.info({ staffId: staff.id, role: staff.role }, 'staff account created');
    return staff;
  }

  /**
   * Renames or moves a staff account (admin). The clues naming it by its old or new name, and those
   * it is already excluded from, are re-evaluated in the same transaction, and its cached sessions
   * are dropped, so a move or a new name applies to its next request.
   */
  async function updateStaff(staffId: string, input: { displayName?: string; unitId?: string }, by: Actor) {
    const updated = await orm.em.fork().transactional(async (em) => {
      const staff = await em.findOne(Staff, { id: staffId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!staff) throw staffNotFound();
      if (input.unitId && !(await em.findOne(Unit, { id: input.unitId }))) throw unitNotFound({ unitId: input.unitId });
      const before = { displayName: staff.displayName, unitId: staff.unit };
      if (input.displayName !== undefined) staff.displayName = input.displayName;
      if (input.unitId !== undefined) staff.unit = input.unitId;
      await em.flush();
      await appendAuditEvent(em, { type: 'staff.changed', actor: by, data: { staffId, unitId: staff.unit, previousUnitId: before.unitId, renamed: before.displayName !== staff.displayName } }, clock.now());
      await recomputeForStaff(em, staffId, before.displayName);
      return staff;
    });
    for (const [key, entry] of principals) if (entry.principal.id === staffId) principals.delete(key);
    logger.info({ staffId }, 'staff account changed');
    return updated;
  }

  async function login(input: { username: string; password: string }) {
    const em = orm.em.fork();
    const staff = await em.findOne(Staff, { username: input.username });
    const ok = await verifyPassword(input.password, staff?.passwordHash ?? dummyPasswordHash);
    if (!staff || !ok || !staff.active) throw invalidCredentials();
    const token = randomBytes(32).toString('base64url');
    const now = clock.now();
    const expiresAt = new Date(now.getTime() + sessionTtlHours * 3600_000);
    em.create(StaffSession, { tokenHash: tokenHash(token), staff: staff.id, createdAt: now, expiresAt });
    await em.flush();
    logger.info({ staffId: staff.id }, 'staff signed in');
    return { token, expiresAt, staff };
  }

  async function logout(token: string) {
    principals.delete(tokenHash(token));
    await orm.em.fork().nativeDelete(StaffSession, { tokenHash: tokenHash(token) });
  }

  // Signed-in principals, kept for a short while so a busy operator's requests do not each look
  // the session up again. Sign-out drops the entry at once; a deactivated account or an expired
  // session is noticed within PRINCIPAL_CACHE_MS.
  const PRINCIPAL_CACHE_MS = 30_000;
  const MAX_CACHED = 10_000;
  const principals = new Map<string, { principal: Principal; until: number; expiresAt: number }>();

  async function authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw notAuthenticated();
    const key = tokenHash(token);
    const now = clock.now().getTime();
    const cached = principals.get(key);
    if (cached && cached.until > now && cached.expiresAt > now) return cached.principal;
    principals.delete(key);
    const [row] = await sql<{ id: string; username: string; role: StaffRole; unit_id: string; path: string; parent_id: string | null; expires_at: Date; discipline_body: string | null }>(
      orm.em.fork(),
      `select s.id, s.username, s.role, s.discipline_body, u.id as unit_id, u.path, u.parent_id, ss.expires_at
       from staff_session ss join staff s on s.id = ss.staff_id join unit u on u.id = s.unit_id
       where ss.token_hash = ? and ss.expires_at > ? and s.active`,
      [key, clock.now()],
    );
    if (!row) throw notAuthenticated();
    const principal: Principal = {
      id: row.id,
      username: row.username,
      role: row.role,
      unitId: row.unit_id,
      unitPath: row.path,
      unitIsRoot: row.parent_id === null,
      disciplineBodyId: row.discipline_body,
    };
    if (principals.size >= MAX_CACHED) principals.delete(principals.keys().next().value!);
    principals.set(key, { principal, until: now + PRINCIPAL_CACHE_MS, expiresAt: new Date(row.expires_at).getTime() });
    return principal;
  }

  function requireAdmin(p: Principal) {
    if (!can.manageStaff(p)) throw forbidden();
  }

  /** First start: a district unit and an admin account, if there is no admin yet. */
  async function seedAdmin(input: { username: string; password: string; districtName?: string }) {
    const em = orm.em.fork();
    const existing = await em.findOne(Staff, { role: 'admin' });
    if (existing) return { created: false as const, username: existing.username };
    let district = await em.findOne(Unit, { kind: 'district' });
    district ??= await createUnit({
      code: 'district',
      name: input.districtName ?? '区民政局',
      nameEn: 'District Civil Affairs Bureau',
      kind: 'district',
    });
    await createStaff({
      username: input.username,
      displayName: '系统管理员 / Administrator',
      password: input.password,
      role: 'admin',
      unitId: district.id,
    });
    return { created: true as const, username: input.username };
  }

  return { createUnit, listUnits, createStaff, updateStaff, login, logout, authenticate, requireAdmin, seedAdmin };
}

export type StaffUseCases = ReturnType<typeof createStaffUseCases>;
