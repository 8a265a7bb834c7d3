import { createHash, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { generateSecret as generateTotpSecret, generateURI as generateTotpUri, verify as verifyTotp } from 'otplib/functional';
import { seal, unseal } from '../../app/seal.ts';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import { type Em, type Orm, sql, sqlBound } from '../../app/db.ts';
import { forbidden, notAuthenticated } from '../../app/errors.ts';
import type { Logger } from '../../app/logger.ts';
import { can, type Principal, type StaffCall } from './access.ts';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './password.ts';
import { Staff, type StaffRole, StaffSession } from './staff.entity.ts';
import { invalidCredentials, staffNotFound, totpAlreadyEnabled, totpInvalid, totpNotStarted, totpRequired, unitCodeTaken, unitInvalidParent, unitNotFound, usernameTaken } from './staff.errors.ts';
import { Unit, type UnitKind } from './unit.entity.ts';
import type { PrincipalCache } from './principal-cache.ts';
import type { Actor } from '../../app/usecase.ts';

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
  /** A session unused this long is refused (STAFF_IDLE_MINUTES). */
  idleMinutes?: number;
  /** Seals TOTP secrets (the reporter key; AAD: the staff id). */
  totpKey: KeyObject | Buffer;
  /** Every account must have a second factor before it can do anything but enrol (STAFF_2FA). */
  totpRequired?: boolean;
  totpIssuer?: string;
  /**
   * Principals of recent tokens, kept while the database's notices are heard (principal-cache.ts);
   * without it every request reads its session.
   */
  principals?: PrincipalCache;
  /**
   * Appends an account change to the system audit chain, in the change's transaction (the ledger's
   * `appendAuditEvent`, wired by the roots so that staff does not import the clue module).
   */
  audit: (em: Em, event: { type: string; actor: Actor; data?: Record<string, unknown> }, at: Date) => Promise<unknown>;
  /**
   * Re-evaluates the excluded sets a created, renamed or moved account may be in, in the same
   * transaction (the visibility module's `recomputeForStaff`, wired by the roots).
   */
  recomputeExclusions: (em: Em, staffId: string, oldDisplayName?: string) => Promise<void>;
}

/** STAFF_2FA: `required` or `optional`; unset, required in production only. */
export const secondFactorRequired = (config: { STAFF_2FA?: 'required' | 'optional'; NODE_ENV: string }) =>
  config.STAFF_2FA === 'required' || (config.STAFF_2FA === undefined && config.NODE_ENV === 'production');

type UnitInput = { code: string; name: string; nameEn?: string; kind: UnitKind; parentId?: string | null };
type StaffInput = { username: string; displayName: string; password: string; role: StaffRole; unitId: string; disciplineBodyId?: string | null };

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

/** `last_seen_at` is written at most this often per session. */
const TOUCH_MS = 60_000;

export function createStaffUseCases({ orm, clock, logger, sessionTtlHours, idleMinutes = 60, totpKey, totpRequired: totpRequiredForAll = false, totpIssuer = '低保投诉举报热线', principals, audit, recomputeExclusions }: StaffDeps) {
  /**
   * After a commit that ended or changed sessions or accounts: this process's cached principals go
   * at once (the triggers' notice tells every process, this one included, but only when it arrives).
   */
  const committed = () => principals?.forget();

  /** An admin creates a unit (POST /api/v1/staff/units); recorded on the system audit chain. */
  async function createUnit({ ctx, input }: StaffCall<UnitInput>) {
    requireAdmin(ctx.principal);
    return addUnit(ctx.em, input, ctx.actor);
  }

  /** A unit made by the system: at first start (seedAdmin), by the demo, tests and benchmarks. */
  const seedUnit = (input: UnitInput) => addUnit(orm.em.fork(), input, 'system:seed');

  /** `by`: who did it, for the system audit chain (an admin, or `system:seed`). */
  async function addUnit(on: Em, input: UnitInput, by: Actor) {
    try {
      return await on.transactional(async (em) => {
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
        await audit(em, { type: 'unit.created', actor: by, data: { unitId: id, code: input.code, kind: input.kind, parentId: parent?.id ?? null } }, now);
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

  /** An admin creates a staff account (POST /api/v1/staff/users); recorded on the system audit chain. */
  async function createStaff({ ctx, input }: StaffCall<StaffInput>) {
    requireAdmin(ctx.principal);
    return addStaff(ctx.em, input, ctx.actor);
  }

  /** An account made by the system: the first admin (seedAdmin), the demo's, tests' and benchmarks'. */
  const seedStaff = (input: StaffInput) => addStaff(orm.em.fork(), input, 'system:seed');

  async function addStaff(on: Em, input: StaffInput, by: Actor) {
    // Hashed before the transaction: the hash is slow on purpose and needs no connection.
    const passwordHash = await hashPassword(input.password);
    let staff: Staff;
    try {
      staff = await on.transactional(async (em) => {
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
        await audit(
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
        await recomputeExclusions(em, created.id);
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
   * it is already excluded from, are re-evaluated in the same transaction; sessions are read on
   * every request, so a move or a new name applies to its next request on every replica.
   */
  async function updateStaff({ ctx, input: { staffId, ...input } }: StaffCall<{ staffId: string; displayName?: string; unitId?: string }>) {
    requireAdmin(ctx.principal);
    const by = ctx.actor;
    const updated = await ctx.em.transactional(async (em) => {
      const staff = await em.findOne(Staff, { id: staffId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!staff) throw staffNotFound();
      if (input.unitId && !(await em.findOne(Unit, { id: input.unitId }))) throw unitNotFound({ unitId: input.unitId });
      const before = { displayName: staff.displayName, unitId: staff.unit };
      if (input.displayName !== undefined) staff.displayName = input.displayName;
      if (input.unitId !== undefined) staff.unit = input.unitId;
      await em.flush();
      await audit(em, { type: 'staff.changed', actor: by, data: { staffId, unitId: staff.unit, previousUnitId: before.unitId, renamed: before.displayName !== staff.displayName } }, ctx.clock.now());
      await recomputeExclusions(em, staffId, before.displayName);
      return staff;
    });
    committed();
    ctx.logger.info({ staffId }, 'staff account changed');
    return updated;
  }

  /**
   * Sign-in: the password (argon2id; an older hash is replaced now), then, once the account has
   * confirmed a second factor, a TOTP code or one of its one-time recovery codes.
   */
  async function login(input: { username: string; password: string; totp?: string }) {
    const em = orm.em.fork();
    const staff = await em.findOne(Staff, { username: input.username });
    const ok = await verifyPassword(input.password, staff?.passwordHash ?? dummyPasswordHash);
    if (!staff || !ok || !staff.active) throw invalidCredentials();
    if (needsRehash(staff.passwordHash)) {
      const rehashed = await hashPassword(input.password);
      await sql(em, 'update staff set password_hash = ? where id = ? and password_hash = ?', [rehashed, staff.id, staff.passwordHash]);
      logger.info({ staffId: staff.id }, 'staff password rehashed with argon2id');
    }
    if (staff.totpConfirmedAt) {
      if (!input.totp) throw totpRequired();
      if (!(await secondFactorMatches(em, staff, input.totp))) throw totpInvalid();
    }
    const token = randomBytes(32).toString('base64url');
    const now = clock.now();
    const expiresAt = new Date(now.getTime() + sessionTtlHours * 3600_000);
    em.create(StaffSession, { tokenHash: tokenHash(token), staff: staff.id, createdAt: now, expiresAt, lastSeenAt: now });
    await em.flush();
    logger.info({ staffId: staff.id }, 'staff signed in');
    return { token, expiresAt, staff };
  }

  async function logout(token: string) {
    await orm.em.fork().nativeDelete(StaffSession, { tokenHash: tokenHash(token) });
    committed();
  }

  /** Sign-out everywhere: every session of the signed-in account ends. */
  async function logoutEverywhere({ ctx }: StaffCall<Record<string, never>>) {
    await endSessions(ctx.em, ctx.principal.id);
    committed();
  }

  /** Ends every session of the account (sign-out everywhere, deactivation, 2FA reset); the caller calls `committed()` after its commit. */
  async function endSessions(em: Em, staffId: string) {
    await sql(em, 'delete from staff_session where staff_id = ?', [staffId]);
  }

  /**
   * The token's principal. A session ended (sign-out, sign-out everywhere, deactivation, 2FA reset:
   * its row is gone, or the account is inactive) or an account changed is refused or seen changed
   * by this process from its next request on, and by every other one as soon as the commit's notice
   * reaches it (migration `staff_principal_notices`); a process that cannot hear notices reads every
   * request's session. Idle for STAFF_IDLE_MINUTES: refused too. `last_seen_at` is written at most
   * once a minute per session.
   *
   * `principals` answers a request only when the database would say the same: the session not
   * expired, not idle and no touch of `last_seen_at` due by what the read found; anything else
   * (refusals included) is decided by reading the database, exactly as without the cache.
   */
  // One fork for the session read's raw SQL, made once: it never holds entities or a transaction,
  // and a fork per request was a tenth of the read's cost on the main thread.
  const sessionReads = orm.em.fork();
  async function authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw notAuthenticated();
    const key = tokenHash(token);
    const now = clock.now();
    const nowMs = now.getTime();
    const cached = principals?.get(key);
    if (cached && cached.expiresAt > nowMs && cached.lastSeenAt > nowMs - idleMinutes * 60_000 && nowMs - cached.lastSeenAt <= TOUCH_MS) return cached.principal;
    const ticket = principals?.ticket();
    // One read by primary keys (session, account, unit) in a PL/pgSQL function whose plan each
    // connection keeps (migration `session_principal_function`): planning the join for every
    // request cost three times the read. Bound parameters (sqlBound), not the ORM's `execute`,
    // which would write the values into the text.
    const [row] = await sqlBound<{ id: string; username: string; role: StaffRole; unit_id: string; path: string; parent_id: string | null; last_seen_at: Date; expires_at: Date; discipline_body: string | null; totp: boolean }>(
      sessionReads,
      'select * from staff_session_principal($1, $2, $3)',
      [key, now, new Date(nowMs - idleMinutes * 60_000)],
    );
    if (!row) throw notAuthenticated();
    let lastSeenAt = new Date(row.last_seen_at).getTime();
    if (nowMs - lastSeenAt > TOUCH_MS) {
      await sqlBound(sessionReads, 'update staff_session set last_seen_at = $1 where token_hash = $2', [now, key]);
      lastSeenAt = nowMs;
    }
    const principal: Principal = {
      id: row.id,
      username: row.username,
      role: row.role,
      unitId: row.unit_id,
      unitPath: row.path,
      unitIsRoot: row.parent_id === null,
      disciplineBodyId: row.discipline_body,
      secondFactor: row.totp,
    };
    principals?.put(key, { principal, expiresAt: new Date(row.expires_at).getTime(), lastSeenAt }, ticket!);
    return principal;
  }

  /** A new password (the current one is asked again); every other session of the account (all but `token`'s) ends. */
  async function changePassword({ ctx, input: { token, ...input } }: StaffCall<{ currentPassword: string; newPassword: string; token: string }>) {
    const { principal, em } = ctx;
    const staff = await em.findOneOrFail(Staff, { id: principal.id });
    if (!(await verifyPassword(input.currentPassword, staff.passwordHash))) throw invalidCredentials();
    const passwordHash = await hashPassword(input.newPassword);
    await em.transactional(async (tx) => {
      const now = ctx.clock.now();
      await sql(tx, 'update staff set password_hash = ?, password_changed_at = ? where id = ?', [passwordHash, now, staff.id]);
      await sql(tx, 'delete from staff_session where staff_id = ? and token_hash <> ?', [staff.id, tokenHash(token)]);
      await audit(tx, { type: 'staff.password_changed', actor: ctx.actor, data: { staffId: staff.id } }, now);
    });
    committed();
  }

  /** An admin deactivates (or reactivates) an account; deactivation ends its sessions at once. */
  async function setActive({ ctx, input: { staffId, active } }: StaffCall<{ staffId: string; active: boolean }>) {
    const admin = ctx.principal;
    requireAdmin(admin);
    await ctx.em.transactional(async (tx) => {
      const now = ctx.clock.now();
      const [row] = await sql<{ id: string }>(tx, 'update staff set active = ? where id = ? returning id', [active, staffId]);
      if (!row) throw staffNotFound();
      if (!active) await endSessions(tx, staffId);
      await audit(tx, { type: active ? 'staff.activated' : 'staff.deactivated', actor: ctx.actor, data: { staffId } }, now);
    });
    committed();
    ctx.logger.info({ staffId, active, by: admin.id }, active ? 'staff account activated' : 'staff account deactivated');
  }

  // ---- second factor (TOTP, RFC 6238: 6 digits, 30 s, SHA-1 as authenticator apps expect) ----
  const totpAt = () => Math.floor(clock.now().getTime() / 1000);
  const recoveryHash = (code: string) => createHash('sha256').update(code.replace(/[\s-]/g, '').toUpperCase()).digest('hex');

  /** The time step of a valid code (one step of clock drift either way), else null. */
  async function totpStep(secret: string, code: string): Promise<number | null> {
    const token = code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(token)) return null;
    const epoch = totpAt();
    const result = await verifyTotp({ secret, token, epoch, epochTolerance: 30 });
    return result.valid ? Math.floor(epoch / 30) + result.delta : null;
  }
  const totpMatches = async (secret: string, code: string) => (await totpStep(secret, code)) !== null;

  async function secondFactorMatches(em: Em, staff: Staff, code: string): Promise<boolean> {
    if (!staff.totpBox) return false;
    const step = await totpStep(unseal(totpKey, Buffer.from(staff.totpBox), staff.id), code);
    if (step !== null) {
      // A code signs in once: a step not newer than the last one used is a replay.
      const [fresh] = await sql<{ id: string }>(em, 'update staff set totp_last_step = ? where id = ? and (totp_last_step is null or totp_last_step < ?) returning id', [step, staff.id, step]);
      return !!fresh;
    }
    // A recovery code works once: removed atomically, so two sign-ins cannot both use it.
    const [used] = await sql<{ id: string }>(
      em,
      `update staff set recovery_codes = recovery_codes - ?::text where id = ? and jsonb_exists(recovery_codes, ?) returning id`,
      [recoveryHash(code), staff.id, recoveryHash(code)],
    );
    if (used) logger.warn({ staffId: staff.id }, 'staff signed in with a recovery code');
    return !!used;
  }

  /** Starts (or restarts, while unconfirmed) enrolment: a new secret for the authenticator app. */
  async function startTotp({ ctx }: StaffCall<Record<string, never>>) {
    const { principal, em } = ctx;
    const staff = await em.findOneOrFail(Staff, { id: principal.id });
    if (staff.totpConfirmedAt) throw totpAlreadyEnabled();
    const secret = generateTotpSecret();
    await sql(em, 'update staff set totp_box = ? where id = ?', [seal(totpKey, secret, staff.id), staff.id]);
    const otpauthUrl = generateTotpUri({ issuer: totpIssuer, label: staff.username, secret });
    return { secret, otpauthUrl };
  }

  /** Confirms enrolment with a code from the app; returns ten one-time recovery codes (shown once, stored hashed). */
  async function confirmTotp({ ctx, input: { code } }: StaffCall<{ code: string }>) {
    const { principal, em } = ctx;
    const staff = await em.findOneOrFail(Staff, { id: principal.id });
    if (staff.totpConfirmedAt) throw totpAlreadyEnabled();
    if (!staff.totpBox) throw totpNotStarted();
    if (!(await totpMatches(unseal(totpKey, Buffer.from(staff.totpBox), staff.id), code))) throw totpInvalid();
    const recoveryCodes = Array.from({ length: 10 }, () => {
      const raw = randomBytes(10).toString('hex').toUpperCase();
      return `${raw.slice(0, 5)}-${raw.slice(5, 10)}-${raw.slice(10, 15)}-${raw.slice(15)}`;
    });
    await em.transactional(async (tx) => {
      const now = ctx.clock.now();
      await sql(tx, 'update staff set totp_confirmed_at = ?, recovery_codes = ?::jsonb where id = ?', [now, JSON.stringify(recoveryCodes.map(recoveryHash)), staff.id]);
      await audit(tx, { type: 'staff.totp_enabled', actor: ctx.actor, data: { staffId: staff.id } }, now);
    });
    committed();
    return { recoveryCodes };
  }

  /** An admin removes another account's second factor (lost phone): it must enrol again; its sessions end. */
  async function resetTotp({ ctx, input: { staffId } }: StaffCall<{ staffId: string }>) {
    const admin = ctx.principal;
    requireAdmin(admin);
    await ctx.em.transactional(async (tx) => {
      const now = ctx.clock.now();
      const [row] = await sql<{ id: string }>(tx, 'update staff set totp_box = null, totp_confirmed_at = null, recovery_codes = null where id = ? returning id', [staffId]);
      if (!row) throw staffNotFound();
      await endSessions(tx, staffId);
      await audit(tx, { type: 'staff.totp_reset', actor: ctx.actor, data: { staffId } }, now);
    });
    committed();
    ctx.logger.info({ staffId, by: admin.id }, 'staff 2FA reset');
  }

  /** Administration (units, accounts, another account's second factor) is for admins: checked by each of those use cases. */
  function requireAdmin(p: Principal) {
    if (!can.manageStaff(p)) throw forbidden();
  }

  /** First start: a district unit and an admin account, if there is no admin yet. */
  async function seedAdmin(input: { username: string; password: string; districtName?: string }) {
    const em = orm.em.fork();
    const existing = await em.findOne(Staff, { role: 'admin' });
    if (existing) return { created: false as const, username: existing.username };
    let district = await em.findOne(Unit, { kind: 'district' });
    district ??= await seedUnit({
      code: 'district',
      name: input.districtName ?? '区民政局',
      nameEn: 'District Civil Affairs Bureau',
      kind: 'district',
    });
    await seedStaff({
      username: input.username,
      displayName: '系统管理员 / Administrator',
      password: input.password,
      role: 'admin',
      unitId: district.id,
    });
    return { created: true as const, username: input.username };
  }

  return { createUnit, seedUnit, listUnits, createStaff, seedStaff, updateStaff, login, logout, logoutEverywhere, authenticate, changePassword, setActive, startTotp, confirmTotp, resetTotp, seedAdmin, totpRequired: totpRequiredForAll };
}

export type StaffUseCases = ReturnType<typeof createStaffUseCases>;
