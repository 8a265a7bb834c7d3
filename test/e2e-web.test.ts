/// <reference lib="dom" />
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, seedTree, type TestEnv } from './helpers.ts';
import { withExif } from './fixtures.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
let server: ServerType;
let base: string;
let browser: Browser;

// Without the browser (README "Tests") the file is skipped, and says why.
const noChromium = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing: apt-get install -y chromium, or set CHROMIUM_PATH`;
if (noChromium) console.warn(`browser tests skipped: ${noChromium}`);

beforeAll(async () => {
  if (noChromium) return;
  t = await createTestApp();
  tree = await seedTree(t);
  server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  (server as unknown as { closeAllConnections?: () => void })?.closeAllConnections?.();
  await new Promise((r) => server?.close(r));
  await t?.close();
});

describe.skipIf(noChromium !== null)('a citizen reports on the web in a real browser', () => {
  it('fills the form in Chinese with a photo, keeps the code and secret, follows up and exchanges messages', { timeout: 90_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 360, height: 740 }, locale: 'zh-CN' });
    await page.goto(`${base}/report`);
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');

    // A real JPEG from the browser's own encoder, with a camera's EXIF block (GPS) put in front.
    const dataUrl = await page.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = 64;
      c.height = 48;
      const g = c.getContext('2d')!;
      g.fillStyle = '#c33';
      g.fillRect(0, 0, 64, 48);
      g.fillStyle = '#fff';
      g.fillRect(8, 8, 20, 20);
      return c.toDataURL('image/jpeg', 0.9);
    });
    const photo = withExif(Buffer.from(dataUrl.split(',')[1]!, 'base64'));
    const dir = mkdtempSync(join(tmpdir(), 'e2e-'));
    const photoPath = join(dir, '低保户的车.jpg');
    writeFileSync(photoPath, photo);

    await page.getByLabel('发生了什么？（必填）').fill('居委会主任把自己的表弟纳入了低保，可他表弟家里有两套房、一辆车。');
    await page.getByLabel('大约什么时候？').fill('2026年春节前后');
    await page.selectOption('#unitId', tree.committeeA.id);
    await page.getByLabel('关系保：干部亲属、熟人违规享受低保').check();
    await page.getByLabel('姓名 1').fill('钱主任');
    await page.selectOption('#accused-0-role', 'cadre');
    await page.setInputFiles('#files', photoPath);
    await page.getByRole('button', { name: '提交举报' }).click();

    await page.waitForSelector('#tracking-code');
    const code = (await page.textContent('#tracking-code'))!.trim();
    const secret = (await page.textContent('#secret'))!.trim();
    expect(code).toMatch(/^\d{4} \d{4} \d{4}$/);
    expect(secret).toMatch(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
    expect(await page.textContent('[role=alert]')).toContain('密码只显示这一次');
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/web-submitted.png', fullPage: true });

    // The stored photo lost its EXIF block and still decodes.
    const [att] = await t.db.query<{ storage_key: string; clue_id: string }>(
      'select a.storage_key, a.clue_id from attachment a join clue c on c.id = a.clue_id where c.tracking_code = $1',
      [code.replace(/ /g, '')],
    );
    const stored = Buffer.from(await t.deps.storage.get(att!.storage_key));
    expect(stored.includes(Buffer.from('Exif'))).toBe(false);
    expect(stored.includes(Buffer.from('GPSLatitude'))).toBe(false);
    const width = await page.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/jpeg;base64,${b64}`;
      await img.decode();
      return img.naturalWidth;
    }, stored.toString('base64'));
    expect(width).toBe(64);

    // Follow up with only the code and the secret.
    await page.goto(`${base}/follow-up`);
    await page.getByLabel('查询码').fill(code);
    await page.getByLabel('密码').fill(secret.toLowerCase());
    await page.getByRole('button', { name: '查询' }).click();
    await expect.poll(() => page.textContent('#status')).toContain('已登记，等待受理');
    expect(await page.textContent('main')).toContain('告诉您是否受理');

    await page.getByLabel('回复或补充情况').fill('补充一下：他表弟的车是白色的丰田。');
    await page.getByRole('button', { name: '发送' }).click();
    await expect.poll(() => page.textContent('#thread')).toContain('白色的丰田');

    // A caseworker-side answer through the staff API appears on the reporter's page.
    const { token } = await t.staffMember('op', 'operator', tree.district.id);
    const staffReply = await t.call('POST', `/api/v1/staff/clues/${att!.clue_id}/messages`, {
      token,
      body: { body: '收到，我们将在15日内告知是否受理。' },
    });
    expect(staffReply.status).toBe(201);
    // Still signed in (a browser-session cookie): the page opens without the code and secret.
    await page.goto(`${base}/follow-up`);
    await expect.poll(() => page.textContent('#thread')).toContain('我们将在15日内告知是否受理');
    expect(await page.locator('#thread .msg.staff').count()).toBe(1);
    await page.screenshot({ path: 'test-results/web-follow-up.png', fullPage: true });

    // English beside Chinese.
    await page.goto(`${base}/report`);
    await page.getByRole('link', { name: 'English' }).click();
    await expect.poll(() => page.textContent('h1')).toBe('Report a dibao problem');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
  });

  it('shows clear, accessible errors and keeps what was typed when the form is incomplete', async () => {
    const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
    await page.goto(`${base}/report`);
    await page.getByLabel('发生了什么？（必填）').fill('有问题');
    await page.getByLabel('实名举报（便于我们联系您、告知结果）').check();
    await page.getByLabel('您的姓名').fill('赵六');
    await page.getByRole('button', { name: '提交举报' }).click();
    const summary = page.locator('#error-summary');
    await expect.poll(() => summary.textContent()).toContain('请写下发生了什么');
    expect(await summary.textContent()).toContain('至少留下手机号码或电子邮箱之一');
    expect(await page.inputValue('#name')).toBe('赵六');
    expect(await page.getAttribute('#narrative', 'aria-describedby')).toContain('narrative-error');
    expect((await t.db.query<{ n: number }>('select count(*)::int as n from clue where narrative = $1', ['有问题']))[0]!.n).toBe(0);
  });

  it('refuses a form post without the CSRF token', async () => {
    const form = new FormData();
    form.set('narrative', '跨站伪造的举报内容，不应被接受。');
    const res = await fetch(`${base}/report`, { method: 'POST', body: form });
    expect(res.status).toBe(403);
  });
});
