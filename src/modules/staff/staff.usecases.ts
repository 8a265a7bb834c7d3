import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import type { Orm } from '../../app/db.ts';
import { forbidden, notAuthenticated } from '../../app/errors.ts';
import type { Logger } from '../../app/logger.ts';
import { can, type Principal } from './access.ts';
import { dummyPasswordHash, hashPassword, verifyPassword } from './password.ts';
import { Staff, type StaffRole, StaffSession } from './staff.entity.ts';
import { invalidCredentials, unitCodeTaken, unitInvalidParent, unitNotFound, usernameTaken } from './staff.errors.ts';
import { Unit, type UnitKind } from './unit.entity.ts';

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
  async function createUnit(input: { code: string; name: string; nameEn?: string; kind: UnitKind; parentId?: string | null }) {
    const em = orm.em.fork();
    const parent = input.parentId ? await em.findOne(Unit, { id: input.parentId }) : null;
    if (input.parentId && !parent) throw unitNotFound({ parentId: input.parentId });
    if (!allowedParent[input.kind].includes(parent?.kind ?? null)) throw unitInvalidParent();
    const id = randomUUID();
    const unit = em.create(Unit, {
      id,
      code: input.code,
      name: input.name,
      nameEn: input.nameEn ?? null,
      kind: input.kind,
      parent: parent?.id ?? null,
      path: `${parent?.path ?? '/'}${id}/`,
      createdAt: clock.now(),
    });
    try {
      await em.flush();
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw unitCodeTaken();
      throw err;
    }
    return unit;
  }

  async function listUnits() {
    return orm.em.fork().find(Unit, {}, { orderBy: { path: 'asc' } });
  }

  async function createStaff(input: {
    username: string;
    displayName: string;
    password: string;
    role: StaffRole;
    unitId: string;
  }) {
    const em = orm.em.fork();
    if (!(await em.findOne(Unit, { id: input.unitId }))) throw unitNotFound({ unitId: input.unitId });
    const staff = em.create(Staff, {
      id: randomUUID(),
      username: input.username,
      displayName: input.displayName,
      passwordHash: await hashPassword(input.password),
      role: input.role,
      unit: input.unitId,
      active: true,
      createdAt: clock.now(),
    });
    try {
      await em.flush();
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw usernameTaken();
      throw err;
    }
    logger.info({ staffId: staff.id, role: staff.role }, 'staff account created');
    return staff;
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
    await orm.em.fork().nativeDelete(StaffSession, { tokenHash: tokenHash(token) });
  }

  async function authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw notAuthenticated();
    const em = orm.em.fork();
    const session = await em.findOne(StaffSession, { tokenHash: tokenHash(token) });
    if (!session || session.expiresAt <= clock.now()) throw notAuthenticated();
    const staff = await em.findOne(Staff, { id: session.staff });
    if (!staff?.active) throw notAuthenticated();
    const unit = await em.findOneOrFail(Unit, { id: staff.unit });
    return {
      id: staff.id,
      username: staff.username,
      role: staff.role,
      unitId: unit.id,
      unitPath: unit.path,
      unitIsRoot: unit.parent === null,
    };
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

  return { createUnit, listUnits, createStaff, login, logout, authenticate, requireAdmin, seedAdmin };
}

export type StaffUseCases = ReturnType<typeof createStaffUseCases>;
