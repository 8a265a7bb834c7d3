import { formatTrackingCode, generateTrackingCode } from '../src/modules/clues/tracking-code.ts';
/**
 * Reporter protection at the root (issue 11): the protection matrix. A named report with a canary
 * identity accuses an official of street A and, by name only, a district supervisor. Every staff
 * GET route of /openapi.json is called by every principal; an excluded principal must get exactly
 * what a clue that does not exist gets, and nobody's GET ever carries the canary. Then the logs and
 * the Redis values under the test prefix are searched for it.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../src/roots/worker.ts';
import { createOrm } from '../src/roots/orm.ts';
import { FRESH_EXCLUSIONS_FUNCTION, recomputeExclusions } from '../src/modules/visibility/visibility.ts';
import { createLogger } from '../src/app/logger.ts';
import { createTestApp, createTestDatabase, seedTree, type TestEnv, until } from './helpers.ts';
import { makeId } from './registry/fixtures.ts';

let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
let stopWorkers: () => Promise<void>;
const tok: Record<string, string> = {};
const ids: Record<string, string> = {};

const tag = randomUUID().replace(/-/g, '').slice(0, 8);
const CANARY = { name: `金丝雀${tag}`, phone: `139${String(parseInt(tag.slice(0, 6), 16) % 1e8).padStart(8, '0')}`, email: `canary-${tag}@example.cn` };
const canaryStrings = [CANARY.name, CANARY.phone, CANARY.email];
const OFFICIAL = '钱局长';
const NAMED_SUPERVISOR = '孙德胜';

/** Principals: who they are, and whether the clue's excluded set holds them. */
const principals: { key: string; role: 'operator' | 'caseworker' | 'supervisor' | 'admin' | 'discipline_officer'; unit: () => string; displayName?: string; excluded: boolean; sees: boolean }[] = [
  { key: 'op-d', role: 'operator', unit: () => tree.district.id, excluded: false, sees: true },
  { key: 'sup-d', role: 'supervisor', unit: () => tree.district.id, excluded: false, sees: true },
  { key: 'admin', role: 'admin', unit: () => tree.district.id, excluded: false, sees: true },
  // The accused's unit and the unit below it.
  { key: 'op-a', role: 'operator', unit: () => tree.streetA.id, excluded: true, sees: false },
  { key: 'sup-a', role: 'supervisor', unit: () => tree.streetA.id, excluded: true, sees: false },
  { key: 'op-a1', role: 'operator', unit: () => tree.committeeA.id, excluded: true, sees: false },
  { key: 'cw-a1', role: 'caseworker', unit: () => tree.committeeA.id, excluded: true, sees: false },
  // The person accused by name (no unit given), a supervisor of the district; an admin by the same rule.
  { key: 'sup-named', role: 'supervisor', unit: () => tree.district.id, displayName: NAMED_SUPERVISOR, excluded: true, sees: false },
  { key: 'admin-named', role: 'admin', unit: () => tree.district.id, displayName: OFFICIAL, excluded: true, sees: false },
  // A sibling street (the clue is assigned to it below: it handles the clue), and a committee under
  // it (not the handling unit: it does not see the clue).
  { key: 'op-b', role: 'operator', unit: () => tree.streetB.id, excluded: false, sees: true },
  { key: 'cw-b1', role: 'caseworker', unit: () => tree.committeeB.id, excluded: false, sees: false },
  // Registered the accused official as a near relative.
  { key: 'op-rel', role: 'operator', unit: () => tree.district.id, excluded: true, sees: false },
  { key: 'discipline', role: 'discipline_officer', unit: () => tree.district.id, excluded: false, sees: false },
];

let clue: { id: string; trackingCode: string };

beforeAll(async () => {
  t = await createTestApp();
  tree = await seedTree(t);
  for (const p of principals) {
    const password = `pw-${randomUUID()}`;
    await t.deps.staff.seedStaff({ username: p.key, displayName: p.displayName ?? p.key, password, role: p.role, unitId: p.unit() });
    tok[p.key] = (await t.deps.staff.login({ username: p.key, password })).token;
    ids[p.key] = (await t.call('GET', '/api/v1/staff/me', { token: tok[p.key] })).json.id;
  }
  stopWorkers = await startWorkers(t.deps);
  // op-rel registered the official as their parent (near-relative registry).
  const reg = await t.call('POST', '/api/v1/staff/registry', {
    token: tok['op-rel'],
    body: { relativeName: OFFICIAL, relation: 'parent', idNumber: makeId('19550101', '123'), programme: 'dibao', since: '2020-01-01' },
  });
  expect(reg.status, reg.text).toBe(201);

  // The clue concerns a committee under street A; the accused official belongs to street A.
  const res = await t.call('POST', '/api/v1/staff/clues', {
    token: tok['op-d'],
    body: {
      channel: 'letter',
      categories: ['favor_enrolment'],
      narrative: '街道干部钱局长为亲属违规办理低保，孙德胜知情不报。',
      unitId: tree.committeeA.id,
      accused: [
        { name: OFFICIAL, role: 'official', unitId: tree.streetA.id },
        { name: NAMED_SUPERVISOR, role: 'unknown' },
      ],
      reporter: { ...CANARY, consentToShare: false },
    },
  });
  expect(res.status, res.text).toBe(201);
  clue = res.json;
  // Work on it, so tasks, deadlines, messages and notices exist: accepted, assigned to street B, a task there.
  expect((await t.call('POST', `/api/v1/staff/clues/${clue.id}/transitions`, { token: tok['op-d'], body: { action: 'accept' } })).status).toBe(200);
  const assign = await t.call('POST', `/api/v1/staff/clues/${clue.id}/assign`, { token: tok['sup-d'], body: { unitId: tree.streetB.id } });
  expect(assign.status, assign.text).toBe(200);
  const task = await t.call('POST', `/api/v1/staff/clues/${clue.id}/tasks`, { token: tok['op-d'], body: { type: 'home_visit', assigneeUnitId: tree.streetB.id } });
  expect(task.status, task.text).toBe(201);
  ids.task = task.json.id;
  expect((await t.call('POST', `/api/v1/staff/clues/${clue.id}/messages`, { token: tok['op-d'], body: { body: '请补充材料。' } })).status).toBeLessThan(300);
  await until(
    () => t.call('GET', '/api/v1/staff/notices', { token: tok['op-b'] }),
    (r) => (r.json.items as { clueId: string }[]).some((n) => n.clueId === clue.id),
  );
});
afterAll(async () => {
  await stopWorkers?.();
  await t?.close();
});

const counts = { attempts: 0, leaks: 0 };

describe('the protection matrix', () => {
  it('every staff GET route × every principal: the excluded get what a missing clue gets, nobody gets the canary', async () => {
    const spec = (await t.call('GET', '/openapi.json')).json as { paths: Record<string, Record<string, { security?: unknown }>> };
    const routes = Object.entries(spec.paths)
      .filter(([path, methods]) => path.startsWith('/api/v1/staff/') && methods.get)
      .map(([path]) => path);
    expect(routes.length).toBeGreaterThan(15);
    const missing = randomUUID();
    const fill = (path: string, id: string) => path.replace(/\{id\}/g, path.startsWith('/api/v1/staff/tasks') ? ids.task! : id);
    const leaks: string[] = [];
    for (const p of principals) {
      for (const route of routes) {
        counts.attempts++;
        const real = await t.call('GET', fill(route, clue.id), { token: tok[p.key] });
        const fake = await t.call('GET', fill(route, missing), { token: tok[p.key] });
        const leak = (why: string) => leaks.push(`${p.key} GET ${route}: ${why}`);
        for (const s of canaryStrings) if (real.text.includes(s)) leak(`canary ${s}`);
        if (p.excluded || !p.sees) {
          if (real.text.includes(clue.id)) leak('clue id');
          if (real.text.includes(clue.trackingCode)) leak('tracking code');
          if (route.includes('{id}') && (real.status !== fake.status || real.text.replaceAll(clue.id, missing) !== fake.text)) {
            leak(`answers ${real.status} where a missing clue answers ${fake.status}`);
          }
        }
      }
      const detail = await t.call('GET', `/api/v1/staff/clues/${clue.id}`, { token: tok[p.key] });
      const list = await t.call('GET', '/api/v1/staff/clues', { token: tok[p.key] });
      const listed = (list.json.items as { id: string }[]).some((c) => c.id === clue.id);
      counts.attempts += 2;
      if (p.sees) {
        expect(detail.status, `${p.key} reads the clue`).toBe(200);
        expect(listed, `${p.key} lists the clue`).toBe(true);
      } else {
        expect(detail.status, `${p.key} reads the clue`).toBe(404);
        expect(listed, `${p.key} lists the clue`).toBe(false);
      }
    }
    counts.leaks = leaks.length;
    console.info(`protection matrix: ${routes.length} GET routes × ${principals.length} principals, ${counts.attempts} attempts, ${counts.leaks} leaks`);
    expect(leaks).toEqual([]);
  });

  it('every console page × every principal: the same answers as the API, and the queue, search, notices and call-backs show nothing of the clue to those who may not see it', async () => {
    // The console's cookie carries the same kind of token as the API's bearer.
    const page = async (path: string, key: string) => {
      const r = await t.app.request(path, { headers: { cookie: `staff_session=${tok[key]}` } });
      return { status: r.status, text: await r.text() };
    };
    // Pages carry a fresh CSRF token in every form: compared without it.
    const plain = (html: string) => html.replace(/name="_csrf" value="[^"]*"/g, '');
    const missing = randomUUID();
    const spaced = clue.trackingCode.replace(/(\d{4})(?=\d)/g, '$1 ');
    const pages = ['/staff', '/staff/notices', '/staff/callbacks', '/staff/quarantine'];
    const leaks: string[] = [];
    let attempts = 0;
    for (const p of principals) {
      attempts++;
      const real = await page(`/staff/clues/${clue.id}`, p.key);
      const fake = await page(`/staff/clues/${missing}`, p.key);
      for (const x of canaryStrings) if (real.text.includes(x)) leaks.push(`${p.key} clue page: canary ${x}`);
      if (p.sees) {
        if (real.status !== 200) leaks.push(`${p.key} clue page: ${real.status} where it may see the clue`);
      } else if (real.status !== fake.status || plain(real.text).replaceAll(clue.id, missing) !== plain(fake.text)) {
        leaks.push(`${p.key} clue page: ${real.status} where a missing clue answers ${fake.status}`);
      }
      for (const path of pages) {
        attempts++;
        const r = await page(path, p.key);
        for (const x of canaryStrings) if (r.text.includes(x)) leaks.push(`${p.key} ${path}: canary ${x}`);
        if (!p.sees) for (const x of [clue.id, clue.trackingCode, spaced]) if (r.text.includes(x)) leaks.push(`${p.key} ${path}: ${x}`);
      }
      // Searching by the tracking code (as a caller reads it out) finds it, or answers as for a code that names no clue.
      attempts++;
      const found = await page(`/staff/find?code=${encodeURIComponent(spaced)}`, p.key);
      const none = await page(`/staff/find?code=${encodeURIComponent(formatTrackingCode(generateTrackingCode()))}`, p.key);
      for (const x of [...canaryStrings, ...(p.sees ? [] : [clue.id])]) if (found.text.includes(x)) leaks.push(`${p.key} find: ${x}`);
      if (!p.sees && found.status !== none.status) leaks.push(`${p.key} find: ${found.status} where a code of no clue answers ${none.status}`);
    }
    console.info(`protection matrix: ${pages.length + 2} console pages × ${principals.length} principals, ${attempts} attempts, ${leaks.length} leaks`);
    expect(leaks).toEqual([]);
  });

  it('every console form on a clue × every principal who may not see it: the page a missing clue gets, and nothing changes', async () => {
    // A CSRF pair (cookie and field) from the sign-in page; the session cookie beside it.
    const login = await t.app.request('/staff/login');
    const csrfCookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await login.text())![1]!;
    const [accused] = await t.db.query<{ id: string }>('select id from accused where clue_id = $1 order by name limit 1', [clue.id]);
    const [body] = await t.db.query<{ id: string }>('select id from discipline_body limit 1');
    const forms: [string, Record<string, string>][] = [
      ['/status', { action: 'start_verification' }],
      ['/assign', { unitId: tree.streetB.id }],
      ['/tasks', { type: 'interview', assigneeUnitId: tree.streetB.id }],
      ['/messages', { body: '请问您还了解哪些情况？' }],
      ['/reveal', { purpose: '核实需要' }],
      ['/merge', { target: formatTrackingCode(clue.trackingCode), reason: '重复' }],
      ['/supervise', {}],
      ['/referral', { bodyId: body?.id ?? '', overrideReason: '确需移送的理由说明' }],
      ['/registry-matches', {}],
      [`/accused/${accused!.id}/links`, { staffId: ids['op-rel']!, kind: 'not_same_person', reason: '同名不同人', field: 'link-00000000-00000000' }],
    ];
    const post = (clueId: string, path: string, form: Record<string, string>, key: string) =>
      t.app.request(`/staff/clues/${clueId}${path}`, {
        method: 'POST',
        headers: { cookie: `${csrfCookie}; staff_session=${tok[key]}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf, ...form }),
      });
    const plain = (html: string) => html.replace(/name="_csrf" value="[^"]*"/g, '');
    const head = async () => (await t.db.query<{ head_seq: number }>('select head_seq from clue where id = $1', [clue.id]))[0]!.head_seq;
    const audits = async () => (await t.db.query('select 1 from registry_audit where clue_id = $1', [clue.id])).length;
    const [before, auditsBefore] = [await head(), await audits()];
    const missing = randomUUID();
    const leaks: string[] = [];
    let attempts = 0;
    for (const p of principals.filter((x) => !x.sees)) {
      for (const [path, form] of forms) {
        attempts++;
        const real = await post(clue.id, path, form, p.key);
        const fake = await post(missing, path, form, p.key);
        const [a, b] = [await real.text(), await fake.text()];
        if (real.status !== fake.status || plain(a).replaceAll(clue.id, missing) !== plain(b)) leaks.push(`${p.key} POST ${path}: ${real.status} vs ${fake.status}`);
        for (const x of [...canaryStrings, clue.trackingCode, formatTrackingCode(clue.trackingCode)]) if (a.includes(x)) leaks.push(`${p.key} POST ${path}: ${x}`);
      }
    }
    console.info(`protection matrix: ${forms.length} console forms × ${principals.filter((x) => !x.sees).length} principals who may not see the clue, ${attempts} attempts, ${leaks.length} leaks`);
    expect(leaks).toEqual([]);
    expect(await head()).toBe(before);
    expect(await audits()).toBe(auditsBefore);
  });

  it('every staff POST route on a clue × every principal who may not see it: the answer a missing clue gets, and nothing changes', async () => {
    const spec = (await t.call('GET', '/openapi.json')).json as { paths: Record<string, Record<string, unknown>> };
    // A body each route accepts, so that the answer comes from the rule and not from validation.
    const bodies: Record<string, unknown> = {
      '/transitions': { action: 'start_verification' },
      '/reporter/reveal': { purpose: '核实需要' },
      '/triage': { priority: 'major' },
      '/assign': { unitId: tree.streetB.id },
      '/supervise': {},
      '/tasks': { type: 'interview', assigneeUnitId: tree.streetB.id },
      '/messages': { body: '请问您还了解哪些情况？' },
      '/referrals': {},
      '/accused': { name: '新增人员', role: 'other', reason: '补充' },
    };
    const routes = Object.entries(spec.paths)
      .filter(([path, methods]) => path.startsWith('/api/v1/staff/clues/{id}/') && methods.post && !path.includes('{accusedId}'))
      .map(([path]) => path);
    expect(routes.length).toBeGreaterThanOrEqual(9);
    const head = async () => (await t.db.query<{ head_seq: number }>('select head_seq from clue where id = $1', [clue.id]))[0]!.head_seq;
    const before = await head();
    const missing = randomUUID();
    const leaks: string[] = [];
    for (const p of principals.filter((x) => !x.sees)) {
      for (const route of routes) {
        const body = bodies[route.slice('/api/v1/staff/clues/{id}'.length)] ?? {};
        counts.attempts++;
        const real = await t.call('POST', route.replace('{id}', clue.id), { token: tok[p.key], body });
        const fake = await t.call('POST', route.replace('{id}', missing), { token: tok[p.key], body });
        if (real.status !== fake.status || real.text.replaceAll(clue.id, missing) !== fake.text) leaks.push(`${p.key} POST ${route}: ${real.status} vs ${fake.status}`);
        for (const x of [...canaryStrings, clue.trackingCode]) if (real.text.includes(x)) leaks.push(`${p.key} POST ${route}: ${x}`);
      }
    }
    counts.leaks += leaks.length;
    console.info(`protection matrix: ${routes.length} POST routes × ${principals.filter((x) => !x.sees).length} principals who may not see the clue, ${leaks.length} leaks`);
    expect(leaks).toEqual([]);
    expect(await head()).toBe(before);
  });

  it('reveal: only operators and supervisors outside the excluded set, with a purpose, never cached', async () => {
    for (const p of principals) {
      const res = await t.call('POST', `/api/v1/staff/clues/${clue.id}/reporter/reveal`, { token: tok[p.key], body: { purpose: '核实需要' } });
      counts.attempts++;
      const mayReveal = p.sees && (p.role === 'operator' || p.role === 'supervisor');
      if (mayReveal) {
        expect(res.status, p.key).toBe(200);
        expect(res.json.name).toBe(CANARY.name);
      } else {
        expect(res.status, p.key).toBe(p.excluded ? (p.role === 'operator' || p.role === 'supervisor' ? 404 : 403) : 403);
        for (const s of canaryStrings) expect(res.text, p.key).not.toContain(s);
      }
    }
    const app = t.app;
    const raw = await app.request(`/api/v1/staff/clues/${clue.id}/reporter/reveal`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tok['op-d']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ purpose: '回访' }),
    });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('cache-control')).toBe('no-store');
    // The accused person named without a unit is excluded (hole 2) and so is a committee under the accused's street (hole 1).
    expect((await t.call('POST', `/api/v1/staff/clues/${clue.id}/reporter/reveal`, { token: tok['sup-named'], body: { purpose: '核实' } })).status).toBe(404);
    expect((await t.call('POST', `/api/v1/staff/clues/${clue.id}/reporter/reveal`, { token: tok['op-a1'], body: { purpose: '核实' } })).status).toBe(404);
  });

  it('the canary is in no log line and no Redis value under the test prefix', async () => {
    const logs = t.logs.text();
    for (const s of canaryStrings) expect(logs).not.toContain(s);
    const redis = new Redis(t.config.REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `*${t.config.QUEUE_PREFIX}*`, 'COUNT', 500);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      let values = '';
      for (const key of keys) {
        const type = await redis.type(key);
        if (type === 'string') values += (await redis.get(key)) ?? '';
        else if (type === 'hash') values += JSON.stringify(await redis.hgetall(key));
        else if (type === 'list') values += JSON.stringify(await redis.lrange(key, 0, -1));
        else if (type === 'set') values += JSON.stringify(await redis.smembers(key));
        else if (type === 'zset') values += JSON.stringify(await redis.zrange(key, '0', '-1'));
        else if (type === 'stream') values += JSON.stringify(await redis.xrange(key, '-', '+'));
      }
      expect(keys.length).toBeGreaterThan(0);
      for (const s of canaryStrings) expect(values).not.toContain(s);
      console.info(`protection matrix: searched ${t.logs.lines.length} log lines and ${keys.length} Redis keys for the canary`);
    } finally {
      redis.disconnect();
    }
  });
});

describe('references from another clue', () => {
  it('a possible repeat found at triage is withheld from whoever may not see it', async () => {
    const res = await t.call('POST', '/api/v1/staff/clues', {
      token: tok['op-d'],
      body: { channel: 'letter', narrative: '又有人反映钱局长的问题。', unitId: tree.committeeB.id, accused: [{ name: OFFICIAL, role: 'beneficiary' }] },
    });
    expect(res.status).toBe(201);
    const triaged = (token: string) => t.call('GET', `/api/v1/staff/clues/${res.json.id}`, { token });
    const event = (r: { json: { events: { type: string; data: { possibleRepeats: { id: string }[] }; withheld?: boolean }[] } }) =>
      r.json.events.find((e) => e.type === 'triage.checked');
    const seen = await until(() => triaged(tok['sup-d']!), (r) => !!event(r));
    expect(event(seen)!.data.possibleRepeats.map((r) => r.id)).toContain(clue.id);
    const other = await triaged(tok['cw-b1']!);
    expect(other.status).toBe(200);
    expect(event(other)!.data.possibleRepeats.map((r) => r.id)).not.toContain(clue.id);
    expect(event(other)!.withheld).toBe(true);
    expect(other.text).not.toContain(clue.id);
    expect(other.text).not.toContain(clue.trackingCode);
  });
});

describe('handing the clue into its excluded set is refused', () => {
  it('assignment and tasks to a committee under the accused’s street: 403 clue.recusal, the district offered', async () => {
    const assign = await t.call('POST', `/api/v1/staff/clues/${clue.id}/assign`, { token: tok['sup-d'], body: { unitId: tree.committeeA.id } });
    expect(assign.status).toBe(403);
    expect(assign.json.error.code).toBe('clue.recusal');
    expect(assign.json.error.details).toMatchObject({ reason: 'accused_unit', suggestedUnitId: tree.district.id });
    const task = await t.call('POST', `/api/v1/staff/clues/${clue.id}/tasks`, { token: tok['op-d'], body: { type: 'interview', assigneeUnitId: tree.committeeA.id } });
    expect(task.status).toBe(403);
    expect(task.json.error.details.suggestedUnitId).toBe(tree.district.id);
    // A task for a caseworker of the committee (through a unit that may handle it) is refused too.
    const byUnit = await t.call('POST', `/api/v1/staff/clues/${clue.id}/tasks`, { token: tok['op-d'], body: { type: 'interview', assigneeUnitId: tree.district.id, assigneeStaffId: ids['cw-a1'] } });
    expect(byUnit.status).toBe(403);
    expect(byUnit.json.error.details.reason).toBe('accused_unit');
    // Special supervision by the named supervisor is refused.
    const sup = await t.call('POST', `/api/v1/staff/clues/${clue.id}/supervise`, { token: tok['sup-d'], body: { supervisorId: ids['sup-named'] } });
    expect(sup.status).toBe(403);
    expect(sup.json.error.code).toBe('clue.recusal');
    // A task for the named supervisor or the relative's registrant is refused too.
    for (const who of ['sup-named', 'op-rel'] as const) {
      const res = await t.call('POST', `/api/v1/staff/clues/${clue.id}/tasks`, { token: tok['op-d'], body: { type: 'interview', assigneeUnitId: tree.streetB.id, assigneeStaffId: ids[who] } });
      expect(res.status, who).toBe(403);
      expect(res.json.error.details.reason).toBe(who === 'op-rel' ? 'registered_relative' : 'accused_person');
    }
  });

  it('an accused at the district root leaves no unit: the clue stays with the admins and is proposed for referral', async () => {
    const res = await t.call('POST', '/api/v1/staff/clues', {
      token: tok['op-d'],
      body: { channel: 'letter', narrative: '区民政局干部违规审批。', unitId: tree.district.id, accused: [{ name: '某科长', role: 'official', unitId: tree.district.id }] },
    });
    expect(res.status).toBe(201);
    // The district's own operator is in the excluded set now; the admin is not.
    expect((await t.call('GET', `/api/v1/staff/clues/${res.json.id}`, { token: tok['op-d'] })).status).toBe(404);
    expect((await t.call('GET', `/api/v1/staff/clues/${res.json.id}`, { token: tok.admin })).status).toBe(200);
    await t.call('POST', `/api/v1/staff/clues/${res.json.id}/transitions`, { token: tok.admin, body: { action: 'accept' } });
    const assign = await t.call('POST', `/api/v1/staff/clues/${res.json.id}/assign`, { token: tok.admin, body: { unitId: tree.streetB.id } });
    expect(assign.status).toBe(403);
    expect(assign.json.error.details).toMatchObject({ suggestedUnitId: null, handledBy: 'admin', referralProposed: true });
  });
});

describe('the excluded set follows changes', () => {
  const isListed = async (key: string, id = clue.id) =>
    ((await t.call('GET', '/api/v1/staff/clues?limit=200', { token: tok[key] })).json.items as { id: string }[]).some((c) => c.id === id);

  it('a wrong name match marked by an operator, then a link, then an unlink: each on the ledger with its reason', async () => {
    const detail = (await t.call('GET', `/api/v1/staff/clues/${clue.id}`, { token: tok['op-d'] })).json;
    const named = (detail.accused as { id: string; name: string }[]).find((a) => a.name === NAMED_SUPERVISOR)!;
    expect(await isListed('sup-named')).toBe(false);
    const wrong = await t.call('POST', `/api/v1/staff/clues/${clue.id}/accused/${named.id}/links`, {
      token: tok['op-d'],
      body: { staffId: ids['sup-named'], kind: 'not_same_person', reason: '同名不同人，经核对身份证号' },
    });
    expect(wrong.status, wrong.text).toBe(200);
    expect(await isListed('sup-named')).toBe(true);
    // Linking the accused to a district operator (same person): they lose the clue at once.
    const link = await t.call('POST', `/api/v1/staff/clues/${clue.id}/accused/${named.id}/links`, {
      token: tok['sup-d'],
      body: { staffId: ids['op-d'], kind: 'same_person', reason: '经核实为同一人（曾用名）' },
    });
    expect(link.status, link.text).toBe(200);
    expect(await isListed('op-d')).toBe(false);
    expect((await t.call('GET', `/api/v1/staff/clues/${clue.id}`, { token: tok['op-d'] })).status).toBe(404);
    const unlink = await t.call('POST', `/api/v1/staff/clues/${clue.id}/accused/${named.id}/unlink`, {
      token: tok['sup-d'],
      body: { staffId: ids['op-d'], reason: '关联有误' },
    });
    expect(unlink.status, unlink.text).toBe(200);
    expect(await isListed('op-d')).toBe(true);
    const events = await t.db.query<{ type: string; data: { reason?: string; kind?: string } }>(
      `select type, data from ledger_event where clue_id = $1 and type like 'accused.%' order by seq`,
      [clue.id],
    );
    expect(events.map((e) => [e.type, e.data.kind, e.data.reason])).toEqual([
      ['accused.linked', 'not_same_person', '同名不同人，经核对身份证号'],
      ['accused.linked', 'same_person', '经核实为同一人（曾用名）'],
      ['accused.unlinked', 'same_person', '关联有误'],
    ]);
  });

  it('adding and removing an accused re-evaluates at once; a new account with an accused’s name is excluded on creation', async () => {
    expect(await isListed('op-b')).toBe(true);
    const added = await t.call('POST', `/api/v1/staff/clues/${clue.id}/accused`, {
      token: tok['sup-d'],
      body: { name: '赵主任', role: 'cadre', unitId: tree.streetB.id, reason: '补充被举报人' },
    });
    expect(added.status, added.text).toBe(201);
    expect(await isListed('op-b')).toBe(false);
    const removed = await t.call('POST', `/api/v1/staff/clues/${clue.id}/accused/${added.json.accusedId}/remove`, { token: tok['sup-d'], body: { reason: '录入错误' } });
    expect(removed.status, removed.text).toBe(200);
    expect(await isListed('op-b')).toBe(true);

    const password = `pw-${randomUUID()}`;
    await t.deps.staff.seedStaff({ username: 'qian-2', displayName: OFFICIAL, password, role: 'operator', unitId: tree.streetB.id });
    const qian = (await t.deps.staff.login({ username: 'qian-2', password })).token;
    expect(((await t.call('GET', '/api/v1/staff/clues', { token: qian })).json.items as { id: string }[]).map((c) => c.id)).not.toContain(clue.id);
    expect((await t.call('GET', `/api/v1/staff/clues/${clue.id}`, { token: qian })).status).toBe(404);
  });

  it('a staff account renamed to an accused’s name, or moved into an accused’s unit, loses the clue on its next request', async () => {
    expect(await isListed('op-b')).toBe(true);
    const rename = await t.call('PATCH', `/api/v1/staff/users/${ids['op-b']}`, { token: tok.admin, body: { displayName: OFFICIAL } });
    expect(rename.status, rename.text).toBe(200);
    expect(await isListed('op-b')).toBe(false);
    expect((await t.call('PATCH', `/api/v1/staff/users/${ids['op-b']}`, { token: tok.admin, body: { displayName: 'op-b' } })).status).toBe(200);
    expect(await isListed('op-b')).toBe(true);
    // The district operator moved into street A (the accused official's unit).
    expect(await isListed('op-d')).toBe(true);
    expect((await t.call('PATCH', `/api/v1/staff/users/${ids['op-d']}`, { token: tok.admin, body: { unitId: tree.streetA.id } })).status).toBe(200);
    expect(await isListed('op-d')).toBe(false);
    expect((await t.call('PATCH', `/api/v1/staff/users/${ids['op-d']}`, { token: tok.admin, body: { unitId: tree.district.id } })).status).toBe(200);
    expect(await isListed('op-d')).toBe(true);
    expect((await t.call('PATCH', `/api/v1/staff/users/${ids['op-d']}`, { token: tok['op-b'], body: { unitId: tree.streetA.id } })).status).toBe(403);
    const audit = await t.db.query<{ n: number }>(`select count(*)::int as n from ledger_event where audit_id = 'system' and type = 'staff.changed'`);
    expect(audit[0]!.n).toBe(4);
  });

  it('a near-relative registration hides the clue from the registrant at once', async () => {
    expect(await isListed('op-b')).toBe(true);
    const reg = await t.call('POST', '/api/v1/staff/registry', {
      token: tok['op-b'],
      body: { relativeName: NAMED_SUPERVISOR, relation: 'sibling', idNumber: makeId('19600202', '456'), programme: 'dibao', since: '2021-01-01' },
    });
    expect(reg.status, reg.text).toBe(201);
    expect(await isListed('op-b')).toBe(false);
    expect((await t.call('GET', `/api/v1/staff/clues/${clue.id}/tasks`, { token: tok['op-b'] })).status).toBe(404);
    expect((await t.call('POST', `/api/v1/staff/tasks/${ids.task}/complete`, { token: tok['op-b'], body: { findings: '核实完毕' } })).status).toBe(404);
  });
});

describe('a registration writes the excluded set a recompute writes', () => {
  const members = (clueId: string) =>
    t.db.query<{ id: string; unit_id: string | null; staff_id: string | null; reason: string }>(
      'select id, unit_id, staff_id, reason from clue_exclusion where clue_id = $1 order by id',
      [clueId],
    );

  it('unit members written as rows, name members only where a name matches: the same ids and rows as the full rule, in groups registered together', async () => {
    const bodies = [
      // Names on staff and in the registry: every branch has something to find.
      [
        { name: OFFICIAL, role: 'official', unitId: tree.streetA.id },
        { name: NAMED_SUPERVISOR, role: 'unknown' },
        { name: '受益人甲', role: 'beneficiary', unitId: tree.committeeB.id },
      ],
      // Names nobody has: only the unit members (the unit given in capitals, as a client may send it).
      [{ name: '无名氏乙', role: 'cadre', unitId: tree.streetB.id.toUpperCase() }],
      [{ name: '无名氏丙', role: 'caseworker', unitId: tree.committeeA.id }, { name: '无名氏丁', role: 'other' }],
      // No accused at all.
      [],
    ];
    // Sent together, so that the group commit writes several in one statement.
    const answers = await Promise.all(
      bodies.map((accused, i) =>
        t.call('POST', '/api/v1/staff/clues', {
          token: tok['op-d'],
          body: { channel: 'letter', categories: ['favor_enrolment'], narrative: `排除集核对 ${i}：反映低保审批问题。`, unitId: tree.committeeA.id, accused },
        }),
      ),
    );
    for (const a of answers) expect(a.status, a.text).toBe(201);
    const written = await Promise.all(answers.map((a) => members(a.json.id)));
    const em = t.deps.orm.em.fork();
    await recomputeExclusions(em, answers.map((a) => a.json.id));
    const recomputed = await Promise.all(answers.map((a) => members(a.json.id)));
    expect(written).toEqual(recomputed);
    // What each holds, so that the comparison above compares something.
    const reasons = written.map((rows) => rows.map((r) => r.reason).sort());
    // (Earlier tests of this file added an account under the official's name and a second registration.)
    expect(new Set(reasons[0])).toEqual(new Set(['accused_name', 'accused_unit', 'registered_relative']));
    expect(written[0]!.filter((r) => r.reason === 'accused_name').map((r) => r.staff_id)).toEqual(expect.arrayContaining([ids['admin-named'], ids['sup-named']]));
    expect(written[0]!.filter((r) => r.reason === 'registered_relative').map((r) => r.staff_id)).toContain(ids['op-rel']);
    expect(written[0]!.filter((r) => r.reason === 'accused_unit').map((r) => r.unit_id)).toEqual([tree.streetA.id]);
    expect(written[1]).toEqual([expect.objectContaining({ reason: 'accused_unit', unit_id: tree.streetB.id, staff_id: null })]);
    expect(written[2]).toEqual([expect.objectContaining({ reason: 'accused_unit', unit_id: tree.committeeA.id })]);
    expect(written[3]).toEqual([]);
  });
});

describe('the migration', () => {
  it('the registration’s excluded-set function is the rule of visibility.ts, planned once (a change of the rule needs a migration)', async () => {
    const body = (sqlText: string) => sqlText.slice(sqlText.indexOf('$fn$') + 4, sqlText.lastIndexOf('$fn$')).replace(/\s+/g, ' ').trim();
    const [fn] = await t.db.query<{ prosrc: string; proconfig: string[] | null; provolatile: string }>(
      `select prosrc, proconfig, provolatile from pg_proc where proname = 'clue_exclusions_named'`,
    );
    expect(fn).toBeDefined();
    expect(body(`$fn$${fn!.prosrc}$fn$`)).toBe(body(FRESH_EXCLUSIONS_FUNCTION));
    expect(fn!.proconfig).toEqual(['plan_cache_mode=force_generic_plan']);
    expect(fn!.provolatile).toBe('s');
  });

  it('computes the excluded sets of the clues registered before it', async () => {
    // A database of its own, migrated step by step (on either leg); the rows below stand for an
    // earlier version's data, written by hand.
    const db = await createTestDatabase();
    const orm = await createOrm({ ...t.config, DATABASE_URL: db.url, DATABASE_POOL_MAX: 2 }, createLogger('silent'));
    const m = { db, deps: { orm } };
    try {
      await m.deps.orm.migrator.up({ to: 'Migration20261203100000_reporter_language' });
      const d = '00000000-0000-4000-8000-00000000000d';
      const a = '00000000-0000-4000-8000-00000000000a';
      const now = new Date('2026-12-01T02:00:00Z');
      await m.db.query(`insert into unit (id, code, name, kind, parent_id, path, created_at) values ($1, 'd', '区', 'district', null, $2, $3)`, [d, `/${d}/`, now]);
      await m.db.query(`insert into unit (id, code, name, kind, parent_id, path, created_at) values ($1, 'a', '街道', 'street', $2, $3, $4)`, [a, d, `/${d}/${a}/`, now]);
      const [staff] = await m.db.query<{ id: string }>(
        `insert into staff (id, username, display_name, password_hash, role, unit_id, active, created_at) values (gen_random_uuid(), 'sun', '孙 德胜', 'x', 'supervisor', $1, true, $2) returning id`,
        [d, now],
      );
      const clueId = '00000000-0000-4000-8000-000000000001';
      await m.db.query(
        `insert into clue (id, tracking_code, channel, received_at, categories, narrative, unit_id, status, priority, named, secret_kind, secret_hash, failed_attempts, head_seq, head_hash, flags, created_at, updated_at)
         values ($1, '123456789018', 'web', $2, '{}', '旧的举报', $4, 'accepted', 'normal', false, 'web', $3, 0, 0, $3, '{}', $2, $2)`,
        [clueId, now, '0'.repeat(64), a],
      );
      await m.db.query(`insert into accused (id, clue_id, name, role, unit_id) values (gen_random_uuid(), $1, '钱局长', 'official', $2), (gen_random_uuid(), $1, '孙德胜', 'unknown', null)`, [clueId, a]);
      await m.deps.orm.migrator.up();
      const keys = await m.db.query<{ name_key: string }>('select name_key from accused order by name_key');
      expect(keys.map((k) => k.name_key).sort()).toEqual(['孙德胜', '钱局长'].sort());
      const members = await m.db.query<{ unit_id: string | null; staff_id: string | null; reason: string }>('select unit_id, staff_id, reason from clue_exclusion where clue_id = $1 order by reason', [clueId]);
      expect(members).toEqual([
        { unit_id: null, staff_id: staff!.id, reason: 'accused_name' },
        { unit_id: a, staff_id: null, reason: 'accused_unit' },
      ]);
    } finally {
      await orm.close(true);
      await db.drop();
    }
  });
});
