/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import axe from 'axe-core';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, seedTree, type TestEnv } from './helpers.ts';

/**
 * The citizen's side in a real browser (issue 20): every page checked with axe-core (WCAG 2.2 A/AA
 * rules), target sizes, focus after an error and reflow at 195 CSS px (true 200 % zoom of a 390 px
 * phone), by script; screenshots of every page at 1366×768 and 390 px go to .scratch/screens (for
 * a person to look at; git-ignored).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = '.scratch/screens';
const HOTLINE = '021-5250 1234';
const REPORT_ADDRESS = 'jubao@minzheng.example.cn';

let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
let town: { id: string };
let village: { id: string };
let server: ServerType;
let base: string;
let browser: Browser;

beforeAll(async () => {
  t = await createTestApp({ HOTLINE_NUMBERS: HOTLINE, REPORT_ADDRESSES: `${REPORT_ADDRESS},other@minzheng.example.cn` });
  tree = await seedTree(t);
  town = await t.unit('c', 'town', tree.district.id, '桃浦镇');
  village = await t.unit('c1', 'villagers_committee', town.id, '李子园村村委会');
  server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  mkdirSync(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  // fetch() keeps its connection alive; close it so the server can stop.
  (server as unknown as { closeAllConnections?: () => void })?.closeAllConnections?.();
  await new Promise((r) => server?.close(r));
  await t?.close();
});

const phone: BrowserContextOptions = { viewport: { width: 390, height: 844 }, locale: 'zh-CN', deviceScaleFactor: 1 };
const desktop: BrowserContextOptions = { viewport: { width: 1366, height: 768 }, locale: 'zh-CN' };

async function newPage(opts: BrowserContextOptions = phone): Promise<Page> {
  const context = await browser.newContext(opts);
  return context.newPage();
}

/** axe-core in the page (page.evaluate is not subject to the page's Content-Security-Policy). */
async function axeViolations(page: Page) {
  await page.evaluate(axe.source);
  return page.evaluate(async () => {
    const result = await (window as unknown as { axe: typeof axe }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
}

/**
 * Interactive elements smaller than 24×24 CSS px (WCAG 2.2 2.5.8), other than links inside a
 * sentence (the criterion's inline exception). Checkboxes and radios are measured themselves.
 */
async function smallTargets(page: Page) {
  return page.evaluate(() => {
    const small: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue; // not shown
      const inline = el.tagName === 'A' && el.parentElement && ['P', 'LI'].includes(el.parentElement.tagName) && (el.parentElement.textContent ?? '').trim() !== (el.textContent ?? '').trim();
      if (inline && !el.closest('.actions, .contact, header')) continue;
      if (r.width < 24 || r.height < 24) small.push(`${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}[${(el.textContent ?? '').trim().slice(0, 20)}] ${Math.round(r.width)}×${Math.round(r.height)}`);
    }
    return small;
  });
}

/** Horizontal scrolling at the current viewport: the page's width beyond the window's. */
const overflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** axe, target sizes and reflow at 195 px on the current page, and its screenshots at both widths. */
async function checkPage(page: Page, name: string) {
  expect(await axeViolations(page), `axe on ${name}`).toEqual([]);
  expect(await smallTargets(page), `targets on ${name}`).toEqual([]);
  const viewport = page.viewportSize()!;
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `${SHOTS}/${name}-390.png`, fullPage: true });
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.screenshot({ path: `${SHOTS}/${name}-1366.png`, fullPage: true });
  // 390 px at 200 % zoom lays out as 195 CSS px.
  await page.setViewportSize({ width: 195, height: 422 });
  expect(await overflow(page), `reflow at 195 px on ${name}`).toBeLessThanOrEqual(0);
  await page.setViewportSize(viewport);
}

async function submitReport(page: Page, narrative: string) {
  await page.goto(`${base}/report`);
  await page.getByLabel('发生了什么？（必填）').fill(narrative);
  await page.getByRole('button', { name: '提交举报' }).click();
  await page.waitForSelector('#tracking-code');
  const code = (await page.textContent('#tracking-code'))!.replace(/\s/g, '');
  const secret = (await page.textContent('#secret'))!.trim();
  const [clue] = await t.db.query<{ id: string }>('select id from clue where tracking_code = $1', [code]);
  return { code, secret, clueId: clue!.id };
}

async function signIn(page: Page, code: string, secret: string, lang = 'zh-CN') {
  await page.goto(`${base}/follow-up?lang=${lang}`);
  await page.locator('#code').fill(code);
  await page.locator('#secret').fill(secret);
  await page.locator('form[action^="/follow-up?"] button[type=submit]').click();
  await page.waitForSelector('#status');
}

describe('the citizen pages in Chromium', () => {
  it('home: the hotline published, two main actions as full-width 44 px buttons, one title, a skip link', { timeout: 60_000 }, async () => {
    const page = await newPage();
    await page.goto(`${base}/`);
    expect(await page.title()).toBe('低保投诉举报');
    const main = page.locator('main');
    expect(await main.textContent()).toContain(HOTLINE);
    expect(await main.textContent()).toContain('工作日 9:00—17:00');
    expect(await main.textContent()).toContain(REPORT_ADDRESS);
    expect(await main.textContent()).not.toContain('other@minzheng.example.cn');
    expect(await page.locator(`a[href="tel:02152501234"]`).count()).toBe(1);
    for (const name of ['我要举报', '查询办理进度']) {
      const box = (await page.getByRole('link', { name }).boundingBox())!;
      expect(box.height).toBeGreaterThanOrEqual(44);
      expect(box.width).toBeGreaterThan(390 - 2 * 16 - 2);
    }
    // No inline style or script: everything comes from the app's own files.
    const markup = await (await fetch(`${base}/`)).text();
    expect(markup).not.toMatch(/<style|style="|<script>|<script [^>]*>[^<]|\son[a-z]+="/i);
    await checkPage(page, 'home');
    // The skip link is the first thing the keyboard reaches; it leads to the main content; focus is a visible 2 px+ ring.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('跳到正文');
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineWidth);
    expect(parseFloat(ring)).toBeGreaterThanOrEqual(2);
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('我要举报');
  });

  it('the form: a town lists 村委会, roles start at 不清楚, the file hint in plain words with the list behind 详细, the hotline', { timeout: 60_000 }, async () => {
    const page = await newPage();
    await page.goto(`${base}/report`);
    expect(await page.title()).toBe('举报低保问题 · 低保投诉举报');
    const townOption = await page.locator(`#unitId option[value="${town.id}"]`).textContent();
    expect(townOption).toContain('桃浦镇');
    expect(townOption).toContain('村委会');
    expect(townOption).not.toContain('居委会');
    expect(await page.locator(`#unitId option[value="${tree.streetA.id}"]`).textContent()).toContain('居委会');
    expect(await page.locator(`#unitId option[value="${village.id}"]`).textContent()).toBe('李子园村村委会');
    for (const i of [0, 1, 2]) expect(await page.locator(`#accused-${i}-role`).inputValue()).toBe('unknown');
    expect(await page.locator('#accused-0-role option:checked').textContent()).toBe('不清楚');
    expect(await page.locator('#files-hint').textContent()).toContain('照片、文件或录音');
    const details = page.locator('details');
    expect(await details.locator('p').isVisible()).toBe(false);
    await details.locator('summary').click();
    expect(await details.locator('p').textContent()).toContain('JPEG');
    expect(await page.locator('footer').textContent()).toContain(HOTLINE);
    // Checkboxes and radios are 24 px or more (they were 13 × 13).
    const box = (await page.locator('input[name=categories]').first().boundingBox())!;
    expect(Math.min(box.width, box.height)).toBeGreaterThanOrEqual(24);
    await checkPage(page, 'form-empty');
  });

  it('a failed submit moves focus to the summary, marks each field, links every item to a real field; typed values are kept', { timeout: 60_000 }, async () => {
    const page = await newPage();
    await page.goto(`${base}/report`);
    await page.getByLabel('发生了什么？（必填）').fill('有问题');
    await page.getByLabel('实名举报（便于我们联系您、告知结果）').check();
    await page.getByLabel('您的姓名').fill('赵六');
    await page.getByLabel('电子邮箱').fill('not-an-address');
    await page.getByRole('button', { name: '提交举报' }).click();
    await page.waitForSelector('#error-summary');
    expect(await page.title()).toBe('错误：举报低保问题 · 低保投诉举报');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('error-summary');
    const links = await page.locator('#error-summary a').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).hash.slice(1)));
    expect(links).toEqual(['narrative', 'email']);
    for (const id of links) {
      const field = page.locator(`#${id}`);
      expect(await field.count(), `#${id} exists`).toBe(1);
      expect(await field.getAttribute('aria-invalid')).toBe('true');
      expect(await field.getAttribute('aria-describedby')).toContain(`${id}-error`);
      expect(await page.locator(`#${id}-error`).isVisible()).toBe(true);
      const border = await field.evaluate((el) => getComputedStyle(el).borderTopColor);
      expect(border).toBe('rgb(176, 0, 0)');
    }
    expect(await page.inputValue('#name')).toBe('赵六');
    expect(await page.inputValue('#narrative')).toBe('有问题');
    await checkPage(page, 'form-errors');
    // A summary link takes the keyboard to the field itself.
    await page.locator('#error-summary a[href="#email"]').click();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('email');

    // Both contact fields empty: the item points at the phone field, which says so.
    await page.locator('#narrative').fill('村干部把亲戚纳入低保，请核查。');
    await page.locator('#email').fill('');
    await page.getByRole('button', { name: '提交举报' }).click();
    await page.waitForSelector('#error-summary');
    expect(await page.locator('#error-summary a').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).hash))).toEqual(['#phone']);
    expect(await page.locator('#phone-error').textContent()).toContain('至少留下手机号码或电子邮箱之一');
    expect(await page.locator('#phone').getAttribute('aria-invalid')).toBe('true');
    expect((await t.db.query<{ n: number }>('select count(*)::int as n from clue where narrative like $1', ['%亲戚纳入低保%']))[0]!.n).toBe(0);
  });

  it('anonymous hides the identity fields and does not send them; without script they show and are ignored', { timeout: 60_000 }, async () => {
    const page = await newPage();
    await page.goto(`${base}/report`);
    const named = page.locator('#named-fields');
    expect(await named.isVisible()).toBe(false);
    await page.getByLabel('实名举报（便于我们联系您、告知结果）').check();
    expect(await named.isVisible()).toBe(true);
    await page.getByLabel('您的姓名').fill('钱七');
    await page.getByLabel('手机号码').fill('13900002222');
    await page.getByLabel('匿名举报（不留姓名和联系方式）').check();
    expect(await named.isVisible()).toBe(false);
    await page.getByLabel('发生了什么？（必填）').fill('匿名反映：低保评议时干部优亲厚友。');
    const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url().includes('/report'));
    await page.getByRole('button', { name: '提交举报' }).click();
    const body = (await sent).postData() ?? '';
    expect(body).toContain('匿名反映');
    expect(body).not.toContain('钱七');
    expect(body).not.toContain('13900002222');
    await page.waitForSelector('#tracking-code');
    const code = (await page.textContent('#tracking-code'))!.replace(/\s/g, '');
    const [row] = await t.db.query<{ named: boolean; sealed: number }>(
      'select named, (select count(*)::int from sealed_reporter s where s.clue_id = c.id) as sealed from clue c where tracking_code = $1',
      [code],
    );
    expect(row).toEqual({ named: false, sealed: 0 });

    // Script off: the fields are there (and say so), and what is typed in them is not kept.
    const plain = await newPage({ ...phone, javaScriptEnabled: false });
    await plain.goto(`${base}/report`);
    expect(await plain.locator('#named-fields').isVisible()).toBe(true);
    expect(await plain.locator('#named-only-hint').isVisible()).toBe(true);
    await plain.getByLabel('发生了什么？（必填）').fill('不开脚本的匿名举报：村里有人冒领低保。');
    await plain.getByLabel('您的姓名').fill('孙八');
    await plain.getByLabel('手机号码').fill('13900003333');
    await plain.getByLabel('电子邮箱').fill('bad');
    await plain.getByRole('button', { name: '提交举报' }).click();
    await plain.waitForSelector('#tracking-code');
    const plainCode = (await plain.textContent('#tracking-code'))!.replace(/\s/g, '');
    const [plainRow] = await t.db.query<{ named: boolean; sealed: number }>(
      'select named, (select count(*)::int from sealed_reporter s where s.clue_id = c.id) as sealed from clue c where tracking_code = $1',
      [plainCode],
    );
    expect(plainRow).toEqual({ named: false, sealed: 0 });
    expect(await plain.textContent('main')).not.toContain('孙八');
  });

  it('the result page: code in groups, the first promise in words, the hotline; then follow-up: thread in time order, one language, sign-in kept across the language switch, 退出', { timeout: 90_000 }, async () => {
    t.clock.set('2026-12-02T03:05:00Z'); // 11:05 in Shanghai
    const page = await newPage();
    await page.goto(`${base}/report`);
    await page.getByLabel('发生了什么？（必填）').fill('居委会主任把表弟纳入低保，他表弟家有两套房。');
    await page.getByLabel('实名举报（便于我们联系您、告知结果）').check();
    await page.getByLabel('您的姓名').fill('李四');
    await page.getByLabel('手机号码').fill('13700004444');
    await page.getByRole('button', { name: '提交举报' }).click();
    await page.waitForSelector('#tracking-code');
    expect(await page.locator('#tracking-code .group').count()).toBe(3);
    const code = (await page.textContent('#tracking-code'))!.trim();
    expect(code).toMatch(/^\d{4} \d{4} \d{4}$/);
    const secret = (await page.textContent('#secret'))!.trim();
    expect(await page.textContent('main')).toContain('我们将在 12月17日前告诉您是否受理。');
    expect(await page.textContent('footer')).toContain(HOTLINE);
    await checkPage(page, 'result');

    const [clue] = await t.db.query<{ id: string; locale: string }>('select id, locale from clue where tracking_code = $1', [code.replace(/ /g, '')]);
    expect(clue!.locale).toBe('zh-CN');
    const { token } = await t.staffMember('op-e2e', 'operator', tree.district.id);
    t.clock.set('2026-12-02T03:10:00Z');
    expect((await t.call('POST', `/api/v1/staff/clues/${clue!.id}/transitions`, { token, body: { action: 'accept' } })).status).toBe(200);
    t.clock.set('2026-12-02T03:11:00Z');
    expect((await t.call('POST', `/api/v1/staff/clues/${clue!.id}/messages`, { token, body: { body: '请问您表弟住在几号楼？' } })).status).toBe(201);

    // Sign in; the code may be typed as shown or without spaces.
    t.clock.set('2026-12-02T03:12:00Z');
    await page.goto(`${base}/follow-up`);
    await checkPage(page, 'follow-up-sign-in');
    await signIn(page, code, secret);
    await page.getByLabel('回复或补充情况').fill('住在 12 号楼。');
    await page.getByRole('button', { name: '发送' }).click();
    await expect.poll(() => page.textContent('#thread')).toContain('12 号楼');

    const thread = await page.locator('#thread .msg').evaluateAll((els) => els.map((e) => ({ who: e.classList.contains('staff') ? 'staff' : 'reporter', text: e.querySelector('.body')!.textContent })));
    expect(thread.map((m) => m.who)).toEqual(['staff', 'staff', 'reporter']);
    expect(thread[0]!.text).toContain('您的举报已受理');
    expect(thread[1]!.text).toBe('请问您表弟住在几号楼？');
    const times = await page.locator('#thread time').allTextContents();
    expect(times.map((x) => x.slice(-5))).toEqual(['11:10', '11:11', '11:12']);
    // One language at a time: no English in the Chinese thread.
    expect(await page.textContent('#thread')).not.toMatch(/Your report|accepted/);
    // One sentence per promise, in plain words; the receipt email is not called an acceptance notice.
    const promises = await page.locator('#promises li').allTextContents();
    expect(promises).toContain('✓ 我们已告诉您是否受理。');
    expect(promises.join('')).not.toContain('应于');
    expect(promises.some((p) => p.includes('我们将在') && p.includes('前核实并处理完毕'))).toBe(true);
    const history = await page.locator('#history li').allTextContents();
    expect(history.join('|')).not.toContain('受理通知');
    expect(history.some((h) => h.endsWith('举报已受理'))).toBe(true);
    await checkPage(page, 'status-thread');

    // The language switch keeps the reporter signed in, and shows the automatic message in English alone.
    await page.getByRole('link', { name: 'English' }).click();
    await page.waitForSelector('#status');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    const english = await page.locator('#thread .msg .body').first().textContent();
    expect(english).toContain('Your report has been accepted');
    expect(english).not.toMatch(/[\u4e00-\u9fff]/);
    // The session cookie lives only as long as the browser session.
    const cookie = (await page.context().cookies()).find((c) => c.name === 'followup')!;
    expect(cookie.expires).toBe(-1);
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.value).not.toContain(secret);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForSelector('#code');
    await page.goto(`${base}/follow-up`);
    expect(await page.locator('#status').count()).toBe(0);
    expect(await page.locator('#code').count()).toBe(1);
  });

  it('a wrong code or secret: the summary takes focus and points at the code field', { timeout: 30_000 }, async () => {
    const page = await newPage();
    await page.goto(`${base}/follow-up`);
    await page.locator('#code').fill('1234 5678 9012');
    await page.locator('#secret').fill('AAAAA-BBBBB-CCCCC-DDDDD');
    await page.getByRole('button', { name: '查询' }).click();
    await page.waitForSelector('#error-summary');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('error-summary');
    expect(await page.locator('#error-summary a').getAttribute('href')).toBe('#code');
    expect(await page.locator('#code').getAttribute('aria-invalid')).toBe('true');
    expect(await axeViolations(page)).toEqual([]);
  });

  it('at 1366 px the pages keep a readable line length and the header fits', { timeout: 30_000 }, async () => {
    const page = await newPage(desktop);
    await page.goto(`${base}/report`);
    const main = (await page.locator('main').boundingBox())!;
    expect(main.width).toBeLessThanOrEqual(40 * 16 + 1);
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    await submitReport(page, '桌面浏览器提交的举报：有人冒领低保金。');
    expect(await overflow(page)).toBeLessThanOrEqual(0);
  });
});
