import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, until } from './helpers.ts';
import { api, embeddedEnv, killAll, npmCommand, type Server, startServer, stopServer } from './npm-start.ts';

// These start `npm start` itself (no DATABASE_URL: embedded PGlite), whichever database the suite's leg uses.

afterAll(() => killAll());

const login = async (port: number, username: string, password: string) => {
  const res = await api(port, '/api/v1/staff/login', { body: { username, password } });
  expect(res.status).toBe(200);
  return res.json.token as string;
};

describe('embedded PGlite (no DATABASE_URL)', () => {
  it('starts, registers, stops gracefully on SIGTERM, restarts, and the clue is still there', { timeout: 420_000 }, async () => {
    const env = embeddedEnv();
    const first = await startServer(env, await freePort());
    expect(first.output()).toContain('first admin created');
    const token = await login(first.port, 'admin', 'first-admin-password');
    const created = await api(first.port, '/api/v1/staff/clues', {
      token,
      body: { channel: 'visit', categories: ['missed_enrolment'], narrative: '我家符合条件却一直没有纳入低保。', accused: [] },
    });
    expect(created.status).toBe(201);
    expect(await stopServer(first)).toBe(0);
    expect(first.output()).toContain('"msg":"stopped"');

    const second = await startServer(env, await freePort());
    const again = await api(second.port, `/api/v1/staff/clues/${created.json.id}`, { token: await login(second.port, 'admin', 'first-admin-password') });
    expect(again.status).toBe(200);
    expect(again.json.trackingCode).toBe(created.json.trackingCode);
    expect(again.json.narrative).toBe('我家符合条件却一直没有纳入低保。');
    expect(await stopServer(second)).toBe(0);

    const verified = await npmCommand({ ...env, LOG_LEVEL: 'silent' }, 'verify-ledger');
    expect(verified.out).toContain('ledger verified');
    expect(verified.code).toBe(0);
  });
});

describe('npm start on embedded PGlite, as a newcomer tries it', () => {
  const env = embeddedEnv();
  let server: Server;
  let admin: string;
  beforeAll(async () => {
    server = await startServer(env, await freePort());
    admin = await login(server.port, 'admin', 'first-admin-password');
  }, 240_000);

  it('a web report goes through triage, assignment, a task, a referral and conclusion; every request is answered at once', { timeout: 120_000 }, async () => {
    const port = server.port;
    // Each request well within DATABASE_ACQUIRE_TIMEOUT_MS (10 s): none waited for a connection it held itself.
    const timed = async (path: string, token: string | undefined, body?: unknown) => {
      const started = Date.now();
      const res = await api(port, path, { token, body });
      expect(Date.now() - started, path).toBeLessThan(8000);
      return res;
    };
    const district = (await timed('/api/v1/staff/units', admin)).json.items.find((u: any) => u.kind === 'district');
    const street = await timed('/api/v1/staff/units', admin, { code: 'cf', name: '长风街道', kind: 'street', parentId: district.id });
    expect(street.status).toBe(201);
    const users = { operator: district.id, supervisor: district.id, caseworker: street.json.id } as const;
    const tokens: Record<string, string> = {};
    for (const [role, unitId] of Object.entries(users)) {
      const made = await timed('/api/v1/staff/users', admin, { username: `the-${role}`, displayName: role, password: `${role}-password-1`, role, unitId });
      expect(made.status).toBe(201);
      tokens[role] = await login(port, `the-${role}`, `${role}-password-1`);
    }
    const body = await timed('/api/v1/staff/discipline-bodies', admin, {
      name: '区纪委监委派驻民政局纪检监察组',
      kind: 'stationed_group',
      email: 'jijian@example.invalid',
      authority: { accusedRoles: ['cadre', 'official', 'caseworker'], unitIds: [] },
    });
    expect(body.status).toBe(201);

    const report = await timed('/api/v1/reports', undefined, {
      narrative: '居委会主任把低保名额给了不符合条件的亲戚，他家有两套房。',
      unitId: street.json.id,
      categories: ['favor_enrolment'],
      accused: [{ name: '钱主任', role: 'cadre' }],
    });
    expect(report.status).toBe(201);
    const list = await timed('/api/v1/staff/clues', tokens.operator);
    const clueId = list.json.items.find((c: any) => c.trackingCode === report.json.trackingCode).id as string;
    const clue = (path: string) => `/api/v1/staff/clues/${clueId}${path}`;

    expect((await timed(clue('/transitions'), tokens.operator, { action: 'accept' })).status).toBe(200);
    expect((await timed(clue('/triage'), tokens.operator, { priority: 'major', majorReasons: ['media_exposure'] })).status).toBe(200);
    expect((await timed(clue('/assign'), tokens.operator, { unitId: street.json.id })).status).toBe(200);
    const task = await timed(clue('/tasks'), tokens.operator, { type: 'home_visit', assigneeUnitId: street.json.id });
    expect(task.status).toBe(201);
    const done = await timed(`/api/v1/staff/tasks/${task.json.id}/complete`, tokens.caseworker, {
      findings: '入户核查：该户有两套住房，不符合低保条件。',
      checklistDone: ['household_members', 'housing_vehicles'],
      finding: 'substantiated',
      outcome: { householdsRemoved: 1, peopleRemoved: 2 },
    });
    expect(done.status).toBe(200);
    const referral = await timed(clue('/referrals'), tokens.supervisor, {});
    expect(referral.status).toBe(201);
    expect(referral.json.bodyId).toBe(body.json.id);
    const concluded = await timed(clue('/transitions'), tokens.operator, {
      action: 'conclude',
      finding: 'substantiated',
      outcome: { householdsRemoved: 1, peopleRemoved: 2, fundsRecoveredYuan: 0, householdsEnrolled: 0, cardCustodyCases: 0 },
    });
    expect(concluded.status).toBe(200);
    expect((await timed('/healthz', undefined)).status).toBe(200);

    const events = (await timed(clue(''), tokens.operator)).json.events.map((e: any) => (e.type === 'clue.status_changed' ? `status:${e.data.action}` : e.type));
    for (const step of ['status:accept', 'clue.triaged', 'clue.assigned', 'task.created', 'task.completed', 'referral.sent', 'status:conclude']) expect(events).toContain(step);
    // The command line reaches the running instance's database through its socket.
    const verified = await npmCommand({ ...env, LOG_LEVEL: 'silent' }, 'verify-ledger');
    expect(verified.out).toContain('through its socket');
    expect(verified.out).toContain('ledger verified');
  });

  it('a second server on the same folder is refused at once; seed -- --demo joins the running instance, which sees what it made', { timeout: 180_000 }, async () => {
    const second = await npmCommand({ ...env, PORT: String(await freePort()) }, 'all');
    expect(second.code).toBe(1);
    expect(second.out).toContain(`in use by process ${server.proc.pid}`);
    expect(second.ms).toBeLessThan(20_000);

    const seeded = await npmCommand({ ...env, LOG_LEVEL: 'silent' }, 'seed', '--demo');
    expect(seeded.code, seeded.out).toBe(0);
    expect(seeded.out).toContain('an admin already exists');
    const accounts = Object.fromEntries([...seeded.out.matchAll(/^\s+(\w+)\s+(demo-[\w-]+) \/ (\S+)$/gm)].map((m) => [m[1], { username: m[2]!, password: m[3]! }]));
    expect(Object.keys(accounts).sort()).toEqual(['caseworker', 'discipline_officer', 'operator', 'supervisor']);
    // The server sees the accounts and clues the command wrote (one database, not two copies of it).
    const op = await login(server.port, accounts.operator!.username, accounts.operator!.password);
    const clues = await api(server.port, '/api/v1/staff/clues?limit=100', { token: op });
    const channels = new Set(clues.json.items.map((c: any) => c.channel));
    for (const ch of ['web', 'phone', 'sms', 'email', 'letter', 'visit']) expect(channels).toContain(ch);
    const callbacks = await api(server.port, '/api/v1/staff/callbacks', { token: op });
    expect(callbacks.json.items).toHaveLength(1);
    const quarantine = await api(server.port, '/api/v1/staff/quarantine', { token: op });
    expect(quarantine.json.items).toHaveLength(1);
    const tracking = /tracking code of the web report: (\d{12})\s+密钥 \/ secret: (\S+)/.exec(seeded.out)!;
    const followUp = await fetch(`http://127.0.0.1:${server.port}/api/v1/reports/${tracking[1]}`, { headers: { 'x-report-secret': tracking[2]! } });
    expect(followUp.status).toBe(200);
    // Run again: nothing doubles.
    expect((await npmCommand({ ...env, LOG_LEVEL: 'silent' }, 'seed', '--demo')).out).toContain('already there');
  });

  it('a killed server leaves no lock behind: the next start on the folder runs at once, with the data', { timeout: 180_000 }, async () => {
    await stopServer(server, 'SIGKILL');
    const next = await startServer(env, await freePort());
    expect((await api(next.port, '/api/v1/staff/clues', { token: await login(next.port, 'admin', 'first-admin-password') })).json.items.length).toBeGreaterThan(0);
    expect(await stopServer(next)).toBe(0);
  });
});

describe('npm start with Redis down', () => {
  it('keeps taking reports (healthz 503), and starts the workers when Redis comes back', { timeout: 240_000 }, async () => {
    const redisPort = await freePort();
    const env = embeddedEnv({ REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    const server = await startServer(env, await freePort(), { expectStatus: 503 });
    expect(server.output()).toContain('cannot reach Redis');
    const health = await api(server.port, '/healthz');
    expect(health.json.checks).toEqual({ database: 'ok', redis: 'down', ledger: 'ok' });
    const token = await login(server.port, 'admin', 'first-admin-password');
    const created = await api(server.port, '/api/v1/staff/clues', {
      token,
      body: { channel: 'visit', categories: ['withholding_funds'], narrative: '村委会截留了我家三个月的低保金。', accused: [] },
    });
    expect(created.status).toBe(201);
    expect(server.proc.exitCode).toBeNull();

    const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    try {
      await until(async () => server.output(), (o) => o.includes('Redis is back: workers started'), 60_000);
      expect(server.output()).toContain('Redis is back: workers started');
      expect((await until(() => api(server.port, '/healthz'), (r) => r.status === 200, 30_000)).status).toBe(200);
      // The triage job queued while Redis was down has run.
      const triaged = await until(
        () => api(server.port, `/api/v1/staff/clues/${created.json.id}`, { token }),
        (r) => r.json.events.some((e: any) => e.type === 'triage.checked'),
        60_000,
      );
      expect(triaged.json.events.map((e: any) => e.type)).toContain('triage.checked');
      expect(await stopServer(server)).toBe(0);
    } finally {
      redis.kill('SIGTERM');
    }
  });
});
