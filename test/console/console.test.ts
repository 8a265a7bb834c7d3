import { generate as generateTotp } from 'otplib/functional';
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, seedTree, type TestEnv } from '../helpers.ts';
import { pngWithMetadata } from '../fixtures.ts';
import { base64Lines, encodedWord, fakeExe, rawMessage } from '../email/mime.ts';
import { SimCall, twilioEnv } from '../voice/twilio-sim.ts';
import { makeId } from '../registry/fixtures.ts';

/**
 * The staff console (issue 17) in a real Chromium: an operator's shift, keyboard only, script off,
 * axe-core on every page, and a caseworker of another street who must not see street A's clue.
 * Screenshots of the queue and a clue page at 1366×768 and 390 px go to /tmp/console-shots.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = '/tmp/console-shots';
const AXE = join(import.meta.dirname, '..', '..', 'node_modules', 'axe-core', 'axe.min.js');
const HOTLINE = '+861012345';

let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
let server: ServerType;
let base: string;
let browser: Browser;
const password = `pw-${randomUUID()}`;

beforeAll(async () => {
  // The Twilio settings only so that an unanswered call can make a call-back; the site is plain http here.
  // (Every test signs in from 127.0.0.1: the address's sign-in slow-down is lifted here, and tested on its own below.)
  t = await createTestApp(twilioEnv(null, { PUBLIC_BASE_URL: 'http://127.0.0.1', RATE_SUBMIT_PER_CLIENT_HOUR: '1000', RATE_SUBMIT_GLOBAL_MINUTE: '1000', LOGIN_FREE_FAILURES_PER_ADDRESS: '1000' }));
  tree = await seedTree(t);
  await t.deps.staff.seedStaff({ username: 'op1', displayName: '接线员甲', password, role: 'operator', unitId: tree.district.id });
  await t.deps.staff.seedStaff({ username: 'cwB', displayName: '曹杨经办', password, role: 'caseworker', unitId: tree.streetB.id });
  server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  mkdirSync(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  (server as unknown as { closeAllConnections?: () => void })?.closeAllConnections?.();
  await new Promise((r) => server?.close(r));
  await t?.close();
});

const desktop: BrowserContextOptions = { viewport: { width: 1366, height: 768 }, locale: 'zh-CN' };

async function newPage(opts: BrowserContextOptions = desktop): Promise<Page> {
  return (await browser.newContext(opts)).newPage();
}

/** axe-core injected as a file (the context bypasses the page's CSP for it): serious and critical findings. */
async function axeSerious(page: Page) {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (d: Document, o: unknown) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

async function signIn(page: Page, username = 'op1') {
  await page.goto(`${base}/staff`);
  expect(new URL(page.url()).pathname).toBe('/staff/login');
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('form[action="/staff/login"] button[type=submit]').click();
  await page.waitForURL(`${base}/staff`);
}

async function webReport(narrative: string, unitId: string, extra: Record<string, unknown> = {}) {
  const res = await t.call('POST', '/api/v1/reports', { body: { narrative, unitId, categories: ['favor_enrolment'], ...extra } });
  expect(res.status).toBe(201);
  const [row] = await t.db.query<{ id: string }>('select id from clue where tracking_code = $1', [res.json.trackingCode]);
  return { code: res.json.trackingCode as string, id: row!.id };
}

/** A short silent WAV (8 kHz mono, 16-bit). */
function wav(): Buffer {
  const data = Buffer.alloc(1600);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + data.length, 4); h.write('WAVE', 8); h.write('fmt ', 12);
  h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22); h.writeUInt32LE(8000, 24); h.writeUInt32LE(16000, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34);
  h.write('data', 36); h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

const rowOf = (page: Page, clueId: string) => page.locator(`tr[data-clue="${clueId}"]`);

describe('the staff console', () => {
  it('signed out: /staff sends to the sign-in page; the session cookie is HttpOnly and SameSite=Lax; bad password shown beside the field, username kept', async () => {
    const res = await t.app.request('/staff');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/staff/login');
    const page = await newPage();
    await page.goto(`${base}/staff/login`);
    await page.locator('#username').fill('op1');
    await page.locator('#password').fill('wrong-password');
    await page.locator('#totp').fill('');
    await page.locator('form[action="/staff/login"] button[type=submit]').click();
    await page.waitForSelector('#password-error');
    expect(await page.locator('#password-error').textContent()).toContain('用户名或密码错误');
    expect(await page.locator('#username').inputValue()).toBe('op1');
    expect(await page.locator('#password').getAttribute('aria-invalid')).toBe('true');
    await page.locator('#password').fill(password);
    await page.locator('form[action="/staff/login"] button[type=submit]').click();
    await page.waitForURL(`${base}/staff`);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'staff_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/staff', secure: false });
    // The cookie is a staff session: the API accepts the same token as a bearer.
    expect((await t.call('GET', '/api/v1/staff/me', { token: cookie.value })).json.username).toBe('op1');
    // A form without the CSRF token is refused.
    const forged = await page.evaluate(async () => (await fetch('/staff/logout', { method: 'POST', body: new URLSearchParams({}) })).status);
    expect(forged).toBe(403);
    // Sign out ends the session itself.
    await page.locator('form[action="/staff/logout"] button').click();
    await page.waitForSelector('.notice');
    expect((await t.call('GET', '/api/v1/staff/me', { token: cookie.value })).status).toBe(401);
    await page.goto(`${base}/staff`);
    expect(new URL(page.url()).pathname).toBe('/staff/login');
    // No inline script or style anywhere; the assets come from the app, htmx from its package.
    const markup = await page.content();
    expect(markup).not.toMatch(/<style|style="|<script>|<script [^>]*>[^<]|\son[a-z]+="/i);
    expect(markup).toMatch(/\/staff\/assets\/htmx\.[0-9a-f]{12}\.js/);
    await page.context().close();
  });

  it('an operator’s shift: web reports arrive and appear in the queue; accept one, decline another, reply, register a letter, close a call-back', { timeout: 120_000 }, async () => {
    const first = await webReport('村主任把他亲戚办成了低保户，家里有两套房。', tree.committeeA.id);
    const second = await webReport('这是一条与低保无关的物业纠纷反映。', tree.streetB.id);
    const page = await newPage();
    await signIn(page);
    expect(await rowOf(page, first.id).count()).toBe(1);
    expect(await rowOf(page, second.id).count()).toBe(1);
    const row = rowOf(page, first.id);
    expect(await row.textContent()).toContain('网上');
    expect(await row.textContent()).toContain('待受理');
    expect(await row.textContent()).toContain('长风一村居委会');
    expect(await row.locator('.clock').getAttribute('class')).toMatch(/clock (ok|amber|red)/);
    expect(await row.locator('.clock').textContent()).toMatch(/剩余|已超期/);
    await page.screenshot({ path: `${SHOTS}/queue-1366.png`, fullPage: true });

    // Filters: a GET form (status, channel, unit); the find box takes the code as read out, with spaces.
    await page.goto(`${base}/staff?unitId=${tree.streetB.id}`);
    expect(await rowOf(page, first.id).count()).toBe(0);
    expect(await rowOf(page, second.id).count()).toBe(1);
    await page.goto(`${base}/staff`);
    await page.locator('#code').fill(`${first.code.slice(0, 4)} ${first.code.slice(4, 8)} ${first.code.slice(8)}`);
    await page.locator('form[action="/staff/find"] button').click();
    await page.waitForURL(`${base}/staff/clues/${first.id}`);
    expect(await page.locator('#narrative').textContent()).toContain('两套房');

    // Accept the first.
    await page.locator('#form-accept button').click();
    await page.waitForSelector('#notice');
    expect(await page.locator('#clue-status').textContent()).toBe('已受理');
    expect(await page.locator('#timeline').textContent()).toContain('待受理 → 已受理');
    // Reply in its thread.
    await page.locator('#reply-body').fill('您好，请问这户人家住在几号楼？');
    await page.locator('#reply-form button').click();
    await page.waitForSelector('#notice');
    expect(await page.locator('#thread').textContent()).toContain('几号楼');
    const [msg] = await t.db.query<{ author: string; body: string }>('select author, body from message where clue_id = $1 and body like $2', [first.id, '%几号楼%']);
    expect(msg).toMatchObject({ author: 'staff' });
    await page.screenshot({ path: `${SHOTS}/clue-1366.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${SHOTS}/clue-390.png`, fullPage: true });
    await page.goto(`${base}/staff`);
    await page.screenshot({ path: `${SHOTS}/queue-390.png`, fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1366, height: 768 });

    // Decline the second: without an explanation the error sits beside the field.
    await page.goto(`${base}/staff/clues/${second.id}`);
    await page.locator('#decline-reasonCode').selectOption('not_dibao_matter');
    await page.locator('#form-decline button').click();
    await page.waitForSelector('#decline-reason-error');
    await page.locator('#decline-reasonCode').selectOption('not_dibao_matter');
    await page.locator('#decline-reason').fill('物业纠纷请向房管部门反映。');
    await page.locator('#form-decline button').click();
    await page.waitForSelector('#notice');
    expect(await page.locator('#clue-status').textContent()).toBe('不予受理');
    const [declined] = await t.db.query<{ status: string }>('select status from clue where id = $1', [second.id]);
    expect(declined!.status).toBe('declined');

    // Register a letter: named, two accused; the receipt carries the code and the secret in full, not cached.
    await page.goto(`${base}/staff/clues/new`);
    await page.locator('#channel-letter').check();
    await page.locator('#narrative').fill('来信反映：某居委会干部冒领低保金三年。');
    await page.locator('#unitId').selectOption(tree.committeeA.id);
    await page.locator('#category-false_claim').check();
    await page.locator('#identity-named').check();
    await page.locator('#name').fill('王五');
    await page.locator('#phone').fill('13800001111');
    await page.locator('#accused-0-name').fill('李四');
    await page.locator('#accused-0-role').selectOption('cadre');
    await page.locator('#accused-0-unit').selectOption(tree.committeeA.id);
    await page.locator('#accused-1-name').fill('赵六');
    const receipt = page.waitForResponse((r) => r.url().endsWith('/staff/clues/new') && r.request().method() === 'POST');
    await page.locator('#register-form button[type=submit]').click();
    const answer = await receipt;
    expect(answer.status()).toBe(201);
    expect(answer.headers()['cache-control']).toBe('no-store');
    await page.waitForSelector('#receipt');
    await page.screenshot({ path: `${SHOTS}/receipt-1366.png`, fullPage: true });
    const code = (await page.locator('#receipt-code').textContent())!.replace(/\s/g, '');
    const secret = (await page.locator('#receipt-secret').textContent())!.trim();
    const [letter] = await t.db.query<{ id: string; channel: string; named: boolean }>('select id, channel, named from clue where tracking_code = $1', [code]);
    expect(letter).toMatchObject({ channel: 'letter', named: true });
    expect((await t.db.query('select name from accused where clue_id = $1 order by name', [letter!.id])).length).toBe(2);
    // The secret works for the reporter.
    expect((await t.call('GET', `/api/v1/reports/${code}`, { headers: { 'x-report-secret': secret } })).status).toBe(200);

    // Assign the letter to the accused's own committee: the recusal error offers the unit above, one click away.
    await page.goto(`${base}/staff/clues/${letter!.id}`);
    await page.locator('#assign-unit').selectOption(tree.committeeA.id);
    await page.locator('#assign-form button').click();
    await page.waitForSelector('#assign-unit-error');
    expect(await page.locator('#assign-suggested').textContent()).toContain('长风街道');
    await page.locator('#assign-suggested button').click();
    await page.waitForSelector('#notice');
    const [assigned] = await t.db.query<{ assigned_unit_id: string }>('select assigned_unit_id from clue where id = $1', [letter!.id]);
    expect(assigned!.assigned_unit_id).toBe(tree.streetA.id);

    // Reveal the identity with a purpose: shown once, not cached, recorded on the ledger.
    const reveal = page.waitForResponse((r) => r.url().endsWith('/reveal'));
    await page.locator('#purpose').fill('回电核实来信内容');
    await page.locator('#reveal-form button').click();
    expect((await reveal).headers()['cache-control']).toBe('no-store');
    expect(await page.locator('#identity').textContent()).toContain('王五');
    const [viewed] = await t.db.query<{ data: { purpose: string } }>(`select data from ledger_event where clue_id = $1 and type = 'reporter.viewed'`, [letter!.id]);
    expect(viewed!.data.purpose).toBe('回电核实来信内容');

    // A call-back: an unanswered call makes one; "show number" is audited; done with a result.
    const call = new SimCall(t, '+8613811110009', HOTLINE);
    await call.dial();
    await call.hangup('completed');
    const [cb] = await t.db.query<{ id: string }>(`select id from callback where state = 'open'`);
    await page.goto(`${base}/staff/callbacks`);
    const card = page.locator(`#cb-${cb!.id}`);
    await card.locator('form[action$="/number"] button').click();
    await page.waitForSelector(`#number-${cb!.id}`);
    await page.screenshot({ path: `${SHOTS}/callbacks-1366.png`, fullPage: true });
    expect(await page.locator(`#number-${cb!.id}`).textContent()).toBe('+8613811110009');
    expect((await t.db.query(`select 1 from callback_event where callback_id = $1 and action = 'number_viewed'`, [cb!.id])).length).toBe(1);
    await page.locator(`#result-${cb!.id}`).selectOption('reached');
    await page.locator(`#note-${cb!.id}`).fill('已回电，来电人将补充材料');
    await page.locator(`#cb-${cb!.id} .done-form button`).click();
    await page.waitForSelector('.notice');
    const [doneCb] = await t.db.query<{ state: string; result: string }>('select state, result from callback where id = $1', [cb!.id]);
    expect(doneCb).toMatchObject({ state: 'done', result: 'reached' });

    // A notice for the operator's unit shows as a badge and links to its clue; seen, the badge goes.
    await t.db.query(
      `insert into staff_notice (id, unit_id, role, staff_id, kind, clue_id, deadline_id, callback_id, text_zh, text_en, created_at) values ($1, $2, null, null, 'reminder', $3, null, null, '线索即将到期', 'A clue is nearly due', now())`,
      [randomUUID(), tree.district.id, first.id],
    );
    await page.goto(`${base}/staff`);
    expect(await page.locator('#notice-badge .count').textContent()).toBe('1');
    await page.locator('#notices-link').click();
    await page.waitForSelector('#notices');
    expect(await page.locator('#notices').textContent()).toContain('线索即将到期');
    await page.locator(`#notices a[href="/staff/clues/${first.id}"]`).click();
    await page.waitForURL(`${base}/staff/clues/${first.id}`);
    expect(await page.locator('#notice-badge').count()).toBe(0);
    await page.context().close();
  });

  it('English by ?lang=en, kept by a cookie', async () => {
    const page = await newPage();
    await signIn(page);
    await page.goto(`${base}/staff?lang=en`);
    expect(await page.locator('h1').textContent()).toBe('Triage queue');
    await page.goto(`${base}/staff/clues/new`);
    expect(await page.locator('h1').textContent()).toBe('Register a letter, visit or call');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await page.context().close();
  });

  it('keyboard only: sign in → queue → clue page', { timeout: 60_000 }, async () => {
    const clue = await webReport('键盘测试：有人代领低保卡。', tree.committeeA.id);
    const page = await newPage();
    await page.goto(`${base}/staff/login`);
    const focusedId = () => page.evaluate(() => document.activeElement?.id ?? '');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.className)).toBe('skip-link');
    for (let i = 0; i < 10 && (await focusedId()) !== 'username'; i++) await page.keyboard.press('Tab');
    expect(await focusedId()).toBe('username');
    await page.keyboard.type('op1');
    await page.keyboard.press('Tab');
    expect(await focusedId()).toBe('password');
    await page.keyboard.type(password);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/staff`);
    // Tab to the clue's link in the queue and open it with Enter.
    let reached = false;
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press('Tab');
      const href = await page.evaluate(() => (document.activeElement as HTMLAnchorElement | null)?.getAttribute('href'));
      if (href === `/staff/clues/${clue.id}`) {
        reached = true;
        break;
      }
    }
    expect(reached).toBe(true);
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineWidth);
    expect(parseFloat(ring)).toBeGreaterThanOrEqual(2);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/staff/clues/${clue.id}`);
    // On the clue page the accept button is reachable and works from the keyboard.
    for (let i = 0; i < 120; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => !!document.activeElement?.closest('#form-accept'))) break;
    }
    expect(await page.evaluate(() => !!document.activeElement?.closest('#form-accept'))).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#notice');
    expect(await page.locator('#clue-status').textContent()).toBe('已受理');
    await page.context().close();
  });

  it('with JavaScript off: sign in, filter, open, accept, reply — all plain forms', { timeout: 60_000 }, async () => {
    const clue = await webReport('脚本关闭测试：低保金被截留。', tree.committeeA.id);
    const page = await newPage({ ...desktop, javaScriptEnabled: false });
    await signIn(page);
    await page.locator('#f-status').selectOption('registered');
    await page.locator('#filters button[type=submit]').click();
    await page.waitForURL(/status=registered/);
    expect(await rowOf(page, clue.id).count()).toBe(1);
    await rowOf(page, clue.id).locator('a').click();
    await page.waitForURL(`${base}/staff/clues/${clue.id}`);
    await page.locator('#form-accept button').click();
    await page.waitForSelector('#notice');
    expect(await page.locator('#clue-status').textContent()).toBe('已受理');
    await page.locator('#reply-body').fill('脚本关闭也能回复。');
    await page.locator('#reply-form button').click();
    await page.waitForSelector('#notice');
    expect(await page.locator('#thread').textContent()).toContain('脚本关闭也能回复');
    await page.context().close();
  });

  it('axe-core: no serious or critical violation on any console page', { timeout: 120_000 }, async () => {
    const clue = await webReport('无障碍检查：有人优亲厚友。', tree.committeeA.id);
    const page = await newPage({ ...desktop, bypassCSP: true });
    await page.goto(`${base}/staff/login`);
    expect(await axeSerious(page), 'login').toEqual([]);
    await signIn(page);
    for (const path of ['/staff', `/staff/clues/${clue.id}`, '/staff/clues/new', '/staff/callbacks', '/staff/quarantine', '/staff/notices', '/staff?lang=en', '/staff?lang=zh-CN']) {
      await page.goto(`${base}${path}`);
      expect(await axeSerious(page), path).toEqual([]);
      await page.screenshot({ path: `${SHOTS}/page-${path.replace(/[^a-z]+/gi, '_')}.png`, fullPage: true });
    }
    // A page with errors, too.
    await page.goto(`${base}/staff/clues/new`);
    await page.locator('#register-form button[type=submit]').click();
    await page.waitForSelector('#error-summary');
    expect(await axeSerious(page), 'register with errors').toEqual([]);
    await page.screenshot({ path: `${SHOTS}/register-errors-1366.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${SHOTS}/register-errors-390.png`, fullPage: true });
    await page.context().close();
  });

  it('a caseworker of street B does not see street A’s clue in the queue and gets 404 on its page', async () => {
    const a = await webReport('街道A的线索：低保评议走过场。', tree.committeeA.id);
    const b = await webReport('街道B的线索：低保金发放到别人账户。', tree.committeeB.id);
    const page = await newPage();
    await signIn(page, 'cwB');
    expect(await rowOf(page, b.id).count()).toBe(1);
    expect(await rowOf(page, a.id).count()).toBe(0);
    // The desk's pages are not offered to a caseworker, and refused if asked for.
    expect(await page.locator('a[href="/staff/callbacks"]').count()).toBe(0);
    expect((await page.goto(`${base}/staff/callbacks`))!.status()).toBe(403);
    const res = await page.goto(`${base}/staff/clues/${a.id}`);
    expect(res!.status()).toBe(404);
    expect(await page.locator('h1').textContent()).toBe('未找到');
    // Not through the find box either.
    await page.goto(`${base}/staff/find?code=${a.code}`);
    expect(await page.locator('#code-error').textContent()).toContain('没有找到');
    // Nor its attachments' route.
    expect((await page.goto(`${base}/staff/clues/${a.id}/attachments/${randomUUID()}`))!.status()).toBe(404);
    await page.context().close();
  });

  it('attachments: an image shown, a recording played in <audio controls>, each downloadable as an attachment', async () => {
    const clue = await webReport('附件测试：照片和录音。', tree.committeeA.id, {
      attachments: [
        { filename: '现场照片.png', contentBase64: pngWithMetadata().toString('base64') },
        { filename: 'recording.wav', contentBase64: wav().toString('base64') },
      ],
    });
    const page = await newPage();
    await signIn(page);
    await page.goto(`${base}/staff/clues/${clue.id}`);
    expect(await page.locator('#attachments img').count()).toBe(1);
    expect(await page.locator('#attachments audio[controls]').count()).toBe(1);
    await page.locator('#attachments img').scrollIntoViewIfNeeded();
    await expect.poll(() => page.locator('#attachments img').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    const href = (await page.locator('#attachments li:has(img) a[download]').getAttribute('href'))!;
    const res = await page.request.get(`${base}${href}`);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-disposition']).toMatch(/^attachment; .*filename\*=UTF-8''/);
    expect(res.headers()['cache-control']).toBe('private, no-store');
    expect(res.headers()['content-type']).toBe('image/png');
    const [stored] = await t.db.query<{ sha256: string }>('select sha256 from attachment where clue_id = $1 and content_type = $2', [clue.id, 'image/png']);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(await res.body()).digest('hex')).toBe(stored!.sha256);
    // Signed out, nothing.
    expect((await t.app.request(href)).status).toBe(302);
    await page.context().close();
  });

  it('quarantined mail: listed, opened (recorded), discarded with a reason; another released into a clue', async () => {
    const mail = (n: string) =>
      rawMessage(
        [`From: "${encodedWord('举报人', 'UTF-8')}" <whistle@example.cn>`, 'To: jubao@minzheng.example.cn', `Subject: ${encodedWord('隔离邮件测试', 'UTF-8')}`, `Message-ID: <${n}@example.cn>`, 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"'],
        '--b\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n',
        Buffer.from('村干部冒领低保金。', 'utf8'),
        '\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="evidence.jpg"\r\nContent-Transfer-Encoding: base64\r\n\r\n',
        base64Lines(fakeExe()),
        '\r\n--b--\r\n',
      );
    const one = (await t.deps.email.receive(mail(randomUUID()))) as { id: string };
    const two = (await t.deps.email.receive(mail(randomUUID()))) as { id: string };
    const page = await newPage();
    await signIn(page);
    await page.goto(`${base}/staff/quarantine`);
    expect(await page.locator(`form[action="/staff/quarantine/${one.id}/open"]`).count()).toBe(1);
    await page.locator(`form[action="/staff/quarantine/${one.id}/open"] button`).click();
    await page.waitForSelector('#mail-text');
    expect(await page.locator('#mail-text').textContent()).toContain('冒领低保金');
    expect((await t.db.query(`select 1 from ledger_event where quarantine_id = $1 and type = 'quarantine.viewed'`, [one.id])).length).toBe(1);
    await page.locator('#discard-reason').fill('垃圾邮件');
    await page.locator('form[action$="/discard"] button').click();
    await page.waitForSelector('.notice');
    expect(await page.locator(`form[action="/staff/quarantine/${one.id}/open"]`).count()).toBe(0);
    await page.locator(`form[action="/staff/quarantine/${two.id}/open"] button`).click();
    await page.waitForSelector('#release-narrative');
    await page.locator('#release-narrative').fill('来信反映村干部冒领低保金。');
    await page.locator('form[action$="/release"] button').click();
    await page.waitForURL(/\/staff\/clues\//);
    expect(await page.locator('#narrative').textContent()).toContain('村干部冒领低保金');
    await page.context().close();
  });

  it('with script on, changing a filter refreshes the queue in place (htmx) and puts the filter in the address', async () => {
    const clue = await webReport('htmx 测试：低保金被截留。', tree.committeeB.id);
    const page = await newPage();
    // Under the strict policy the app is getting (script-src 'self', style-src 'self'): nothing refused.
    await page.route((url) => url.pathname.startsWith('/staff'), async (route) => {
      const response = await route.fetch({ maxRedirects: 0 });
      await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'" } });
    });
    await page.addInitScript(() => {
      const w = window as unknown as { violations: string[] };
      w.violations = [];
      document.addEventListener('securitypolicyviolation', (e) => w.violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    await signIn(page);
    await page.goto(`${base}/staff`); // (the page after a fulfilled redirect is not routed again: load it once more)
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await page.locator('#f-unit').selectOption(tree.streetA.id);
    await page.waitForURL(/unitId=/);
    await expect.poll(() => rowOf(page, clue.id).count()).toBe(0);
    // The same document: no full page load happened.
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    expect(await page.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual([]);
    // (The policy is in force: an inline script is refused.)
    const inlineRan = await page.evaluate(() => {
      const el = document.createElement('script');
      el.textContent = 'window.inlineRan = 1';
      document.head.append(el);
      return (window as unknown as { inlineRan?: number }).inlineRan;
    });
    expect(inlineRan).toBeUndefined();
    await page.context().close();
  });

  it('a task takes an accepted clue into verification; conclude needs a finding', async () => {
    const clue = await webReport('核实测试：某户家中有车却领低保。', tree.committeeA.id);
    const page = await newPage();
    await signIn(page);
    await page.goto(`${base}/staff/clues/${clue.id}`);
    expect(await page.locator('#form-conclude').count()).toBe(0);
    await page.locator('#form-accept button').click();
    await page.waitForSelector('#notice');
    await page.locator('#task-type').selectOption('home_visit');
    await page.locator('#task-unit').selectOption(tree.committeeA.id);
    await page.locator('#task-form button').click();
    await page.waitForSelector('#notice');
    expect(await page.locator('#clue-status').textContent()).toBe('核实中');
    expect(await page.locator('#tasks').textContent()).toContain('入户调查');
    await page.locator('#form-conclude button').click();
    await page.waitForSelector('#conclude-finding-error');
    await page.locator('#conclude-finding').selectOption('substantiated');
    await page.locator('#form-conclude button').click();
    await page.waitForSelector('#notice');
    expect(await page.locator('#clue-status').textContent()).toBe('已办结');
    const [row] = await t.db.query<{ status: string; finding: string }>('select status, finding from clue where id = $1', [clue.id]);
    expect(row).toMatchObject({ status: 'concluded', finding: 'substantiated' });
    await page.context().close();
  });

  it('the clock turns amber with a quarter of the time left and red when overdue', async () => {
    const clue = await webReport('时钟测试：低保金发放不及时。', tree.committeeA.id);
    const [d] = await t.db.query<{ starts_at: Date; due_at: Date }>(`select starts_at, due_at from deadline where clue_id = $1 and closed_at is null order by due_at limit 1`, [clue.id]);
    const page = await newPage({ ...desktop, javaScriptEnabled: false });
    await signIn(page);
    const clock = () => rowOf(page, clue.id).locator('.clock');
    expect(await clock().getAttribute('class')).toBe('clock ok');
    const start = t.clock.now();
    const span = d!.due_at.getTime() - d!.starts_at.getTime();
    try {
      t.clock.set(new Date(d!.due_at.getTime() - span / 5));
      await page.goto(`${base}/staff`);
      expect(await clock().getAttribute('class')).toBe('clock amber');
      t.clock.set(new Date(d!.due_at.getTime() + 3 * 3600_000));
      await page.goto(`${base}/staff`);
      expect(await clock().getAttribute('class')).toBe('clock red');
      expect(await clock().textContent()).toContain('已超期 3小时');
    } finally {
      t.clock.set(start);
    }
    await page.context().close();
  });

  it('the queue: clues still being handled by default (every status on request), overdue first in the due-first panel, and a count capped at 100', { timeout: 60_000 }, async () => {
    const late = await webReport('优先测试：低保审批迟迟没有结果。', tree.committeeA.id);
    const other = await webReport('优先测试：另一封没有超期的来信。', tree.committeeA.id);
    const closed = await webReport('优先测试：已不予受理的来信。', tree.committeeA.id);
    const token = (await t.deps.staff.login({ username: 'op1', password })).token;
    const op = await t.deps.staff.authenticate(token);
    const ctx = () => ({ actor: `staff:${op.id}` as const, principal: op, em: t.deps.orm.em.fork(), clock: t.deps.clock, logger: t.deps.logger });
    await t.deps.clues.changeStatus({ ctx: ctx(), input: { clueId: closed.id, action: 'decline', reason: '不属于本系统受理范围的事项。', reasonCode: 'not_dibao_matter' } });
    // Make one clue's first deadline overdue: it leads the panel, before clues due later.
    await t.db.query(`update deadline set due_at = now() - interval '2 days', starts_at = now() - interval '5 days' where clue_id = $1 and closed_at is null`, [late.id]);
    const page = await newPage({ ...desktop, javaScriptEnabled: false });
    await signIn(page);
    const due = await page.locator('tr[data-due-clue]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-due-clue')!));
    expect(due[0]).toBe(late.id);
    expect(await page.locator(`tr[data-due-clue="${late.id}"] .clock`).getAttribute('class')).toBe('clock red');
    expect(await rowOf(page, other.id).count()).toBe(1);
    // A declined clue is not in the default view, and is with "every status".
    expect(await rowOf(page, closed.id).count()).toBe(0);
    const [{ n }] = (await t.db.query<{ n: number }>(`select count(*)::int as n from clue where status in ('registered', 'accepted', 'verifying', 'referred', 'concluded')`)) as [{ n: number }];
    expect(await page.locator('#queue-count').textContent()).toBe(n > 100 ? '100+ 条（超过此数不再细数）' : `共 ${n} 条`);
    await page.screenshot({ path: `${SHOTS}/queue-due-first-1366.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${SHOTS}/queue-due-first-390.png`, fullPage: true });
    await page.setViewportSize({ width: 1366, height: 768 });
    await page.goto(`${base}/staff?status=all`);
    expect(await rowOf(page, closed.id).count()).toBe(1);
    // The count stops at its cap.
    expect(await t.deps.clues.countClues({ ctx: ctx(), input: { cap: 2 } })).toEqual({ count: 2, capped: true });
    expect(await t.deps.clues.countClues({ ctx: ctx(), input: { ids: [late.id], cap: 2 } })).toEqual({ count: 1, capped: false });
    await page.context().close();
  });

  it('keyset paging: 25 a page, the next page by its cursor, no clue twice; a date filter', { timeout: 60_000 }, async () => {
    const registered = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        t.deps.clues.registerClue('staff:test', { channel: 'letter', categories: ['other'], narrative: `分页测试第 ${i} 封来信。`, unitId: tree.committeeB.id, accused: [] }),
      ),
    );
    const page = await newPage({ ...desktop, javaScriptEnabled: false });
    await signIn(page);
    await page.goto(`${base}/staff?unitId=${tree.committeeB.id}&channel=letter`);
    const ids = () => page.locator('tr[data-clue]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-clue')!));
    const first = await ids();
    expect(first).toHaveLength(25);
    const next = (await page.locator('#next-page').getAttribute('href'))!;
    expect(next).toMatch(/cursor=/);
    expect(next).toMatch(/channel=letter/);
    await page.locator('#next-page').click();
    const second = await ids();
    expect(second).toHaveLength(5);
    expect(await page.locator('#next-page').count()).toBe(0);
    expect(new Set([...first, ...second])).toEqual(new Set(registered.map((r) => r.clue.id)));
    // A day after today: nothing received yet.
    const tomorrow = new Date(t.clock.now().getTime() + 2 * 86_400_000).toISOString().slice(0, 10);
    await page.goto(`${base}/staff?unitId=${tree.committeeB.id}&from=${tomorrow}`);
    expect(await page.locator('#no-clues').count()).toBe(1);
    await page.context().close();
  });

  it('an account with two-factor sign-in needs its authenticator code on the form: auth.totp_required beside the field, then in', async () => {
    await t.deps.staff.seedStaff({ username: 'tf1', displayName: '双因素甲', password, role: 'operator', unitId: tree.district.id });
    const token = (await t.call('POST', '/api/v1/staff/login', { body: { username: 'tf1', password } })).json.token as string;
    const { secret } = (await t.call('POST', '/api/v1/staff/me/totp', { token })).json as { secret: string };
    const code = () => generateTotp({ secret, epoch: Math.floor(t.clock.now().getTime() / 1000) });
    expect((await t.call('POST', '/api/v1/staff/me/totp/confirm', { token, body: { code: await code() } })).status).toBe(200);
    t.clock.advanceBy(31_000); // a code is taken once: the next one comes from the next 30-second step
    const page = await newPage();
    await page.goto(`${base}/staff/login`);
    await page.locator('#username').fill('tf1');
    await page.locator('#password').fill(password);
    await page.locator('form[action="/staff/login"] button[type=submit]').click();
    await page.waitForSelector('#totp-error');
    expect(await page.locator('#totp-error').textContent()).toBe('请输入动态验证码');
    expect(await page.locator('#username').inputValue()).toBe('tf1');
    await page.locator('#password').fill(password);
    const current = await code();
    await page.locator('#totp').fill(`${current.slice(0, 3)} ${current.slice(3)}`);
    await page.locator('form[action="/staff/login"] button[type=submit]').click();
    await page.waitForURL(`${base}/staff`);
    await page.context().close();
  });
});

describe('the clue page: merge, special supervision, referral, near-relative matches', () => {
  const body: Record<string, string> = {};
  let regId = '';
  beforeAll(async () => {
    await t.deps.staff.seedStaff({ username: 'sup1', displayName: '督办员甲', password, role: 'supervisor', unitId: tree.district.id });
    await t.deps.staff.seedStaff({ username: 'sup2', displayName: '督办员乙', password, role: 'supervisor', unitId: tree.district.id });
    await t.deps.staff.seedStaff({ username: 'adm1', displayName: '管理员甲', password, role: 'admin', unitId: tree.district.id });
    const admin = (await t.deps.staff.login({ username: 'adm1', password })).token;
    const mk = async (b: unknown) => (await t.call('POST', '/api/v1/staff/discipline-bodies', { token: admin, body: b })).json.id as string;
    body.a = await mk({ name: '长风街道纪工委', kind: 'town_commission', email: 'cf@jw.example.cn', authority: { accusedRoles: ['official', 'caseworker', 'cadre'], unitIds: [tree.streetA.id] } });
    body.b = await mk({ name: '曹杨街道纪工委', kind: 'town_commission', email: 'cy@jw.example.cn', authority: { accusedRoles: ['cadre'], unitIds: [tree.streetB.id] } });
    // 周登记, a district operator, registered a relative: a clue naming 周登记 matches the registry as its registrant.
    // (Of street B: matches registered by the viewer's own unit are withheld from them.)
    await t.deps.staff.seedStaff({ username: 'reg1', displayName: '周登记', password, role: 'operator', unitId: tree.streetB.id });
    const regToken = (await t.deps.staff.login({ username: 'reg1', password })).token;
    regId = (await t.call('GET', '/api/v1/staff/me', { token: regToken })).json.id;
    const reg = await t.call('POST', '/api/v1/staff/registry', { token: regToken, body: { relativeName: '吴亲属', relation: 'spouse', idNumber: makeId('19700101', '321'), programme: 'dibao', since: '2021-03-01' } });
    expect(reg.status, reg.text).toBe(201);
  });

  async function officialClue(narrative: string) {
    const { clue } = await t.deps.clues.registerClue('staff:test', {
      channel: 'letter',
      categories: ['favor_enrolment'],
      narrative,
      unitId: tree.committeeA.id,
      accused: [
        { name: '钱主任', role: 'official', unitId: tree.streetA.id },
        { name: '周登记', role: 'caseworker' },
      ],
    });
    return clue.id;
  }

  it('with script off: a supervisor takes on special supervision, refers within authority (an override needs a reason), merges a repeat, and opens the registry matches (recorded) to mark a same-name match wrong', { timeout: 120_000 }, async () => {
    const id = await officialClue('来信反映：街道钱主任为亲属违规办理低保。');
    await t.deps.registry.checkClue(id);
    const [flags] = await t.db.query<{ flags: string[] }>('select flags from clue where id = $1', [id]);
    expect(flags!.flags).toContain('near_relative_match');
    // The registrant, named as a person reported, is in the clue's excluded set.
    const excluded = async () => (await t.db.query('select 1 from clue_exclusion where clue_id = $1 and staff_id = $2', [id, regId])).length > 0;
    expect(await excluded()).toBe(true);

    const page = await newPage({ ...desktop, javaScriptEnabled: false });
    await signIn(page, 'sup1');
    await page.goto(`${base}/staff/clues/${id}`);
    await page.locator('#form-accept button').click();
    await page.waitForSelector('#notice');

    // 督办.
    expect(await page.locator('#supervision-state').textContent()).toBe('未督办。');
    await page.locator('#supervise').click();
    await page.waitForSelector('#notice');
    expect(await page.locator('#supervision-state').textContent()).toBe('由您督办。');
    const [sup] = await t.db.query<{ supervisor: string }>('select supervisor from clue where id = $1', [id]);
    const supId = (await t.call('GET', '/api/v1/staff/me', { token: (await t.deps.staff.login({ username: 'sup1', password })).token })).json.id;
    expect(sup!.supervisor).toBe(supId);
    expect(await page.locator('#timeline').textContent()).toContain('督办');
    // Name another supervisor instead: only those who may handle the clue are offered.
    const offered = await page.locator('#supervisor-id option').allTextContents();
    expect(offered).toContain('督办员乙');
    expect(offered).not.toContain('督办员甲');
    await page.locator('#supervisor-id').selectOption({ label: '督办员乙' });
    await page.locator('#supervise-other').click();
    await page.waitForSelector('#notice');
    expect(await page.locator('#supervision-state').textContent()).toBe('由督办员乙督办。');
    const [sup2] = await t.db.query<{ supervisor: string; username: string }>('select s.username from clue c join staff s on s.id = c.supervisor where c.id = $1', [id]);
    expect(sup2!.username).toBe('sup2');
    // Back to sup1 for the rest of this walk.
    await page.locator('#supervise').click();
    await page.waitForSelector('#notice');

    // Registry matches: shown only once asked for, and the asking is recorded.
    expect(await page.locator('#registry-flag').count()).toBe(1);
    expect(await page.locator('#registry-matches').count()).toBe(0);
    await page.locator('#registry-open-form button').click();
    await page.waitForSelector('#registry-matches');
    expect(await page.locator('#registry-matches').textContent()).toContain('周登记');
    expect(await page.locator('#registry-matches').textContent()).toContain('吴亲属');
    expect(await page.locator('#registry-matches').textContent()).not.toContain('19700101');
    expect((await t.db.query(`select 1 from registry_audit where clue_id = $1 and action = 'matches_viewed'`, [id])).length).toBe(1);
    await page.screenshot({ path: `${SHOTS}/clue-matches-1366.png`, fullPage: true });
    const linkForm = page.locator('form.link-form').first();
    // Without a reason: the error beside the field, the matches still shown.
    await linkForm.locator('button[value=not_same_person]').click();
    await page.waitForSelector('form.link-form .error-message');
    expect(await page.locator('form.link-form .error-message').first().textContent()).toBe('请填写说明（至少 2 个字）');
    await page.locator('form.link-form input[name=reason]').first().fill('同名不同人：备案人周登记是区热线接线员');
    await page.locator('form.link-form button[value=not_same_person]').first().click();
    await page.waitForSelector('#notice');
    const [link] = await t.db.query<{ kind: string; reason: string }>('select kind, reason from accused_link where clue_id = $1', [id]);
    expect(link).toMatchObject({ kind: 'not_same_person', reason: '同名不同人：备案人周登记是区热线接线员' });
    expect(await excluded()).toBe(false);

    // Referral: the proposed body is the one with authority; another needs an override reason.
    expect(await page.locator('#referral-proposal').textContent()).toContain('长风街道纪工委');
    expect(await page.locator('#refer-body').inputValue()).toBe(body.a);
    await page.locator('#refer-body').selectOption(body.b!);
    await page.locator('#referral-form button').click();
    await page.waitForSelector('#refer-override-error');
    expect(await page.locator('#refer-override-error').textContent()).toContain('没有管辖权');
    expect(await page.locator('#refer-body').inputValue()).toBe(body.b);
    await page.screenshot({ path: `${SHOTS}/clue-referral-error-1366.png`, fullPage: true });
    await page.locator('#refer-override').fill('短');
    await page.locator('#referral-form button').click();
    await page.waitForSelector('#refer-override-error');
    expect(await page.locator('#refer-override-error').textContent()).toBe('越权移送理由至少 5 个字');
    expect(await page.locator('#refer-override').inputValue()).toBe('短');
    await page.locator('#refer-override').fill('钱主任已调任曹杨街道，由曹杨街道纪工委管辖');
    await page.locator('#referral-form button').click();
    await page.waitForSelector('#notice');
    expect(await page.locator('#clue-status').textContent()).toBe('已移送');
    expect(await page.locator('#referrals').textContent()).toContain('曹杨街道纪工委');
    const [sent] = await t.db.query<{ data: { bodyId: string; authorityOverride?: { reason: string } } }>(`select data from ledger_event where clue_id = $1 and type = 'referral.sent'`, [id]);
    expect(sent!.data).toMatchObject({ bodyId: body.b, authorityOverride: { reason: '钱主任已调任曹杨街道，由曹杨街道纪工委管辖' } });

    // Merge a repeat into it: a bad code is shown beside the field and kept; then the code as read out.
    const repeat = await officialClue('重复来信：钱主任为亲属办低保。');
    await page.goto(`${base}/staff/clues/${repeat}`);
    await page.locator('#merge-target').fill('1234');
    await page.locator('#form-merge button').click();
    await page.waitForSelector('#merge-target-error');
    expect(await page.locator('#merge-target-error').textContent()).toBe('受理编号为 12 位数字');
    expect(await page.locator('#merge-target').inputValue()).toBe('1234');
    const [{ tracking_code: code }] = (await t.db.query<{ tracking_code: string }>('select tracking_code from clue where id = $1', [id])) as [{ tracking_code: string }];
    await page.locator('#merge-target').fill(code.replace(/(\d{4})(?=\d)/g, '$1 '));
    await page.locator('#merge-reason').fill('同一事项的重复来信');
    await page.locator('#form-merge button').click();
    await page.waitForSelector('#notice');
    expect(await page.locator('#clue-status').textContent()).toBe('已合并');
    expect(await page.locator('#merged-into').getAttribute('href')).toBe(`/staff/clues/${id}`);
    const [merged] = await t.db.query<{ status: string; merged_into: string }>('select status, merged_into from clue where id = $1', [repeat]);
    expect(merged).toMatchObject({ status: 'merged', merged_into: id });
    await page.context().close();
  });

  it('an operator sees the proposal but not the confirm form, nor the registry details; a clue they may not see is no merge target', async () => {
    const id = await officialClue('来信反映：钱主任违规审批低保。');
    await t.deps.registry.checkClue(id);
    const own = await webReport('曹杨街道B的另一条线索。', tree.committeeB.id);
    const op = await newPage();
    await signIn(op, 'op1');
    await op.goto(`${base}/staff/clues/${id}`);
    await op.locator('#form-accept button').click();
    await op.waitForSelector('#notice');
    expect(await op.locator('#referral-proposal').textContent()).toContain('长风街道纪工委');
    expect(await op.locator('#referral-form').count()).toBe(0);
    expect(await op.locator('#supervise-form').count()).toBe(0);
    expect(await op.locator('#registry-open-form').count()).toBe(0);
    expect(await op.locator('#registry-flag').count()).toBe(1);
    await op.context().close();
    // A caseworker of street B: a clue of street A is no merge target (the same answer as a code of no clue).
    const cw = await newPage();
    await signIn(cw, 'cwB');
    await cw.goto(`${base}/staff/clues/${own.id}`);
    const [{ tracking_code: code }] = (await t.db.query<{ tracking_code: string }>('select tracking_code from clue where id = $1', [id])) as [{ tracking_code: string }];
    await cw.locator('#merge-target').fill(code);
    await cw.locator('#form-merge button').click();
    await cw.waitForSelector('#merge-target-error');
    expect(await cw.locator('#merge-target-error').textContent()).toBe('没有找到该编号的线索（或不在您的权限范围内）');
    expect(await cw.content()).not.toContain(id);
    const [row] = await t.db.query<{ status: string }>('select status from clue where id = $1', [own.id]);
    expect(row!.status).toBe('registered');
    await cw.context().close();
  });

  it('keyboard only: the merge form is reached with Tab and sent with Enter; axe-core is clean with the matches open and an error shown', { timeout: 90_000 }, async () => {
    const target = await officialClue('键盘合并目标：钱主任违规。');
    const id = await officialClue('键盘合并来源：钱主任违规。');
    await t.deps.registry.checkClue(id);
    const page = await newPage({ ...desktop, bypassCSP: true });
    await signIn(page, 'sup1');
    await page.goto(`${base}/staff/clues/${id}`);
    await page.locator('#registry-open-form button').click();
    await page.waitForSelector('#registry-matches');
    await page.locator('form.link-form button[value=same_person]').first().click();
    await page.waitForSelector('#error-summary');
    expect(await axeSerious(page), 'clue page, matches open, with an error').toEqual([]);
    await page.goto(`${base}/staff/clues/${id}`);
    expect(await axeSerious(page), 'clue page with merge, supervision, referral and registry').toEqual([]);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${SHOTS}/clue-forms-390.png`, fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1366, height: 768 });
    await page.screenshot({ path: `${SHOTS}/clue-forms-1366.png`, fullPage: true });
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    let reached = false;
    for (let i = 0; i < 150; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.id === 'merge-target')) {
        reached = true;
        break;
      }
    }
    expect(reached).toBe(true);
    const [{ tracking_code: code }] = (await t.db.query<{ tracking_code: string }>('select tracking_code from clue where id = $1', [target])) as [{ tracking_code: string }];
    await page.keyboard.type(code);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#notice');
    expect(await page.locator('#clue-status').textContent()).toBe('已合并');
    await page.context().close();
  });
});

describe('registering a letter with its scans and photos', () => {
  const stored = async (clueId: string) =>
    t.db.query<{ filename: string | null; filename_box: Buffer | null; content_type: string; storage_key: string; source: string }>('select filename, filename_box, content_type, storage_key, source from attachment where clue_id = $1 order by created_at, id', [clueId]);
  const bytesOf = (key: string) => t.deps.storage.get(key);

  it('the staff registration API takes attachments: checked by content, metadata stripped, names sealed; a refused file registers nothing', async () => {
    const token = (await t.deps.staff.login({ username: 'op1', password })).token;
    const ok = await t.call('POST', '/api/v1/staff/clues', {
      token,
      body: { channel: 'letter', narrative: 'API 来信：附有照片一张。', unitId: tree.committeeA.id, attachments: [{ filename: '王五家门口.png', contentBase64: pngWithMetadata().toString('base64') }] },
    });
    expect(ok.status, ok.text).toBe(201);
    const [a] = await stored(ok.json.id);
    expect(a).toMatchObject({ filename: null, content_type: 'image/png' });
    expect(a!.filename_box).not.toBeNull();
    const bytes = Buffer.from(await bytesOf(a!.storage_key));
    expect(bytes.includes(Buffer.from('GPS 31.2304'))).toBe(false);
    expect(bytes.includes(Buffer.from('eXIf'))).toBe(false);
    // The staff view names it by a label only.
    const detail = (await t.call('GET', `/api/v1/staff/clues/${ok.json.id}`, { token })).json;
    expect(JSON.stringify(detail)).not.toContain('王五家门口');
    const before = (await t.db.query('select count(*)::int as n from clue'))[0] as { n: number };
    const bad = await t.call('POST', '/api/v1/staff/clues', {
      token,
      body: { channel: 'letter', narrative: 'API 来信：附件是程序。', unitId: tree.committeeA.id, attachments: [{ filename: 'scan.jpg', contentBase64: fakeExe().toString('base64') }] },
    });
    expect(bad.status).toBe(422);
    expect(bad.json.error.code).toBe('attachment.rejected');
    expect(((await t.db.query('select count(*)::int as n from clue'))[0] as { n: number }).n).toBe(before.n);
  });

  it('with script on: the files go up with a progress bar (htmx, no full page load) and the receipt counts them', { timeout: 60_000 }, async () => {
    const page = await newPage();
    await signIn(page);
    await page.goto(`${base}/staff/clues/new`);
    await page.evaluate(() => {
      const w = window as unknown as { marker: number; progress: string[] };
      w.marker = 7;
      w.progress = [];
      new MutationObserver(() => w.progress.push(document.getElementById('upload-progress-text')?.textContent ?? '')).observe(document.getElementById('upload-progress-text')!, { childList: true, characterData: true, subtree: true });
    });
    await page.locator('#channel-letter').check();
    await page.locator('#narrative').fill('来信反映：居委会干部为亲戚办低保，附来信扫描件。');
    await page.locator('#unitId').selectOption(tree.committeeA.id);
    // A large enough scan that the upload takes more than one progress event.
    const big = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(3 * 1024 * 1024, 0x20), Buffer.from('\n%%EOF\n')]);
    await page.locator('#files').setInputFiles([
      { name: '来信第1页.png', mimeType: 'image/png', buffer: pngWithMetadata() },
      { name: '来信第2页.pdf', mimeType: 'application/pdf', buffer: big },
    ]);
    await page.locator('#register-form button[type=submit]').click();
    await page.waitForSelector('#receipt');
    expect(await page.locator('#receipt-files').textContent()).toBe('2 个文件');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
    const seen = await page.evaluate(() => (window as unknown as { progress: string[] }).progress);
    expect(seen).toContain('100%');
    await page.screenshot({ path: `${SHOTS}/receipt-files-1366.png`, fullPage: true });
    const code = (await page.locator('#receipt-code').textContent())!.replace(/\s/g, '');
    const [clue] = await t.db.query<{ id: string }>('select id from clue where tracking_code = $1', [code]);
    expect((await stored(clue!.id)).map((a) => a.content_type).sort()).toEqual(['application/pdf', 'image/png']);
    // On the clue page: the image shown, the PDF downloadable, both by label.
    await page.goto(`${base}/staff/clues/${clue!.id}`);
    expect(await page.locator('#attachments img').count()).toBe(1);
    expect(await page.locator('#attachments a[download]').count()).toBe(2);
    expect(await page.content()).not.toContain('来信第1页');
    await page.context().close();
  });

  it('with script off: a plain multipart post; a form error says the files were not kept, a refused file is named beside the field, and what was typed stays', { timeout: 60_000 }, async () => {
    const page = await newPage({ ...desktop, javaScriptEnabled: false });
    await signIn(page);
    await page.goto(`${base}/staff/clues/new`);
    await page.locator('#files').setInputFiles([{ name: 'photo.png', mimeType: 'image/png', buffer: pngWithMetadata() }]);
    await page.locator('#occurredWhen').fill('去年冬天');
    await page.locator('#register-form button[type=submit]').click();
    await page.waitForSelector('#files-error');
    expect(await page.locator('#files-error').textContent()).toContain('所选文件没有保存');
    expect(await page.locator('#narrative-error').count()).toBe(1);
    expect(await page.locator('#occurredWhen').inputValue()).toBe('去年冬天');
    await page.screenshot({ path: `${SHOTS}/register-files-error-1366.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${SHOTS}/register-files-error-390.png`, fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1366, height: 768 });
    await page.locator('#narrative').fill('来信反映：低保金被冒领，附程序文件。');
    await page.locator('#files').setInputFiles([{ name: 'scan.jpg', mimeType: 'image/jpeg', buffer: fakeExe() }]);
    const refused = page.waitForResponse((r) => r.url().endsWith('/staff/clues/new') && r.request().method() === 'POST');
    await page.locator('#register-form button[type=submit]').click();
    expect((await refused).status()).toBe(422);
    expect(await page.locator('#files-error').textContent()).toContain('scan.jpg');
    expect(await page.locator('#narrative').inputValue()).toBe('来信反映：低保金被冒领，附程序文件。');
    await page.locator('#files').setInputFiles([{ name: 'photo.png', mimeType: 'image/png', buffer: pngWithMetadata() }]);
    const done = page.waitForResponse((r) => r.url().endsWith('/staff/clues/new') && r.request().method() === 'POST');
    await page.locator('#register-form button[type=submit]').click();
    expect((await done).status()).toBe(201);
    expect(await page.locator('#receipt-files').textContent()).toBe('1 个文件');
    await page.context().close();
  });

  it('axe-core: the registration form with a file error and the receipt with files', { timeout: 60_000 }, async () => {
    const page = await newPage({ ...desktop, bypassCSP: true });
    await signIn(page);
    await page.goto(`${base}/staff/clues/new`);
    await page.locator('#files').setInputFiles([{ name: 'scan.jpg', mimeType: 'image/jpeg', buffer: fakeExe() }]);
    await page.locator('#narrative').fill('无障碍检查：附件被拒。');
    await page.locator('#register-form button[type=submit]').click();
    await page.waitForSelector('#files-error');
    expect(await axeSerious(page), 'register with a refused file').toEqual([]);
    await page.context().close();
  });
});

describe('two-factor enrolment in the console', () => {
  it('an operator turns it on from the account page (QR code, key, code), gets ten recovery codes once, and from then on signs in with a code or a recovery code', { timeout: 90_000 }, async () => {
    await t.deps.staff.seedStaff({ username: 'tf2', displayName: '双因素乙', password, role: 'operator', unitId: tree.district.id });
    const page = await newPage({ ...desktop, bypassCSP: true }); // for axe-core; the CSP itself is tested elsewhere
    await signIn(page, 'tf2');
    await page.goto(`${base}/staff/account`);
    expect(await axeSerious(page), 'account').toEqual([]);
    await page.locator('#totp-start').click();
    await page.waitForSelector('#totp-qr svg');
    expect(await axeSerious(page), 'enrolment').toEqual([]);
    expect((await page.locator('#totp-secret').textContent())!.replace(/\s/g, '')).toMatch(/^[A-Z2-7]{16,}$/);
    await page.locator('#code').fill('000000');
    await page.getByRole('button', { name: '确认绑定' }).click();
    expect(await page.locator('#enrol-error').textContent()).toContain('验证码不正确');
    await page.locator('#totp-start').click();
    const fresh = (await page.locator('#totp-secret').textContent())!.replace(/\s/g, '');
    const freshCode = await generateTotp({ secret: fresh, epoch: Math.floor(t.clock.now().getTime() / 1000) });
    await page.locator('#code').fill(freshCode);
    const confirmed = page.waitForResponse((r) => r.url().endsWith('/staff/account/totp/confirm'));
    await page.getByRole('button', { name: '确认绑定' }).click();
    expect((await confirmed).headers()['cache-control']).toBe('no-store');
    const codes = (await page.locator('#recovery-codes code').allTextContents()).map((c) => c.trim());
    expect(codes).toHaveLength(10);
    await page.goto(`${base}/staff/account`);
    expect(await page.locator('#two-factor-state').textContent()).toContain('已启用');
    expect(await page.content()).not.toContain(codes[0]!);
    await page.context().close();

    // Signing in now asks for a code; a recovery code works once.
    t.clock.advanceBy(31_000);
    const again = await newPage();
    await again.goto(`${base}/staff/login`);
    await again.locator('#username').fill('tf2');
    await again.locator('#password').fill(password);
    await again.locator('form[action="/staff/login"] button[type=submit]').click();
    await again.waitForSelector('#totp-error');
    await again.locator('#password').fill(password);
    await again.locator('#totp').fill(codes[0]!);
    await again.locator('form[action="/staff/login"] button[type=submit]').click();
    await again.waitForURL(`${base}/staff`);
    await again.context().close();
    expect((await t.call('POST', '/api/v1/staff/login', { body: { username: 'tf2', password, totp: codes[0] } })).json.error.code).toBe('auth.totp_invalid');
  });

  it('where two-factor sign-in is required, an account without it is sent to the enrolment and can do nothing else', async () => {
    const h = await createTestApp({ STAFF_2FA: 'required' });
    try {
      const district = await h.unit('d', 'district', null);
      await h.deps.staff.seedStaff({ username: 'op', displayName: 'op', password, role: 'operator', unitId: district.id });
      const { token } = await h.deps.staff.login({ username: 'op', password });
      const get = (path: string) => h.app.request(path, { headers: { cookie: `staff_session=${token}` }, redirect: 'manual' });
      const queue = await get('/staff');
      expect(queue.status).toBe(302);
      expect(queue.headers.get('location')).toBe('/staff/account');
      expect((await get('/staff/notices')).headers.get('location')).toBe('/staff/account');
      const account = await get('/staff/account');
      expect(account.status).toBe(200);
      expect(await account.text()).toContain('本系统要求启用双重验证');
    } finally {
      await h.close();
    }
  });
});

describe('the staff console behind https', () => {
  it('the session cookie is Secure when PUBLIC_BASE_URL is https', async () => {
    const h = await createTestApp({ PUBLIC_BASE_URL: 'https://hotline.example.gov.cn' });
    try {
      const district = await h.unit('d', 'district', null);
      await h.deps.staff.seedStaff({ username: 'op', displayName: 'op', password, role: 'operator', unitId: district.id });
      const get = await h.app.request('https://hotline.example.gov.cn/staff/login');
      const csrfCookie = get.headers.get('set-cookie')!.split(';')[0]!;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await get.text())![1]!;
      const post = await h.app.request('https://hotline.example.gov.cn/staff/login', {
        method: 'POST',
        headers: { cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf, username: 'op', password, totp: '' }),
      });
      expect(post.status).toBe(303);
      const session = post.headers.get('set-cookie')!;
      expect(session).toMatch(/^staff_session=/);
      expect(session).toMatch(/; HttpOnly/);
      expect(session).toMatch(/; Secure/);
      expect(session).toMatch(/; SameSite=Lax/);
    } finally {
      await h.close();
    }
  });
});

describe('the sign-in form and the API share one slow-down', () => {
  it('wrong passwords on the form answer 429 with Retry-After once the free attempts are used, and the right one waits too', async () => {
    const h = await createTestApp({ LOGIN_FREE_FAILURES: '3' });
    try {
      const district = await h.unit('d', 'district', null);
      await h.deps.staff.seedStaff({ username: 'op', displayName: 'op', password, role: 'operator', unitId: district.id });
      const get = await h.app.request('/staff/login');
      const csrfCookie = get.headers.get('set-cookie')!.split(';')[0]!;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await get.text())![1]!;
      const attempt = (pw: string) =>
        h.app.request('/staff/login', { method: 'POST', headers: { cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf, username: 'op', password: pw }) });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await attempt('wrong-password')).status);
      expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
      expect(statuses.slice(3)).toEqual([429, 429]);
      const right = await attempt(password);
      expect(right.status).toBe(429);
      expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
      // The API counts the same attempts.
      expect((await h.call('POST', '/api/v1/staff/login', { body: { username: 'op', password } })).status).toBe(429);
    } finally {
      await h.close();
    }
  });
});
