/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/roots/server.ts';
import { createTestApp, seedTree, type TestEnv } from './helpers.ts';

// Issue 12, item 3: every response carries a Content-Security-Policy without inline script,
// nosniff, no-referrer, frame-ancestors 'none' (and HSTS when PUBLIC_BASE_URL is https); the
// citizen pages run in Chromium under that policy without a single violation.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const noChromium = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing: apt-get install -y chromium, or set CHROMIUM_PATH`;
if (noChromium) console.warn(`browser tests skipped: ${noChromium}`);

let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
let server: ServerType | undefined;
let base: string;
let browser: Browser | undefined;

beforeAll(async () => {
  t = await createTestApp();
  tree = await seedTree(t);
});
afterAll(async () => {
  await browser?.close();
  (server as unknown as { closeAllConnections?: () => void })?.closeAllConnections?.();
  if (server) await new Promise((r) => server!.close(r));
  await t?.close();
});

describe('security headers', () => {
  it('pages, JSON, assets and errors all carry the CSP, nosniff, no-referrer and no framing; HSTS only over https', async () => {
    const paths = ['/', '/report', '/follow-up', '/api/v1/reports/123456789012', '/nowhere', '/healthz', '/openapi.json'];
    for (const path of paths) {
      const res = await t.app.request(path);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toMatch(/default-src 'self'/);
      expect(csp, path).toMatch(/script-src 'self'(;|$)/);
      expect(csp, path).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(csp, path).toMatch(/frame-ancestors 'none'/);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(res.headers.get('strict-transport-security'), path).toBeNull();
    }
    const page = await (await t.app.request('/report')).text();
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const https = createServer({ ...t.deps, config: { ...t.deps.config, PUBLIC_BASE_URL: 'https://hotline.example.gov.cn' } });
    expect((await https.request('/report')).headers.get('strict-transport-security')).toMatch(/max-age=\d{7,}/);
  });

  it.skipIf(noChromium !== null)('the citizen pages report, follow up and reply in Chromium with no CSP violation', { timeout: 90_000 }, async () => {
    server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((r) => server!.once('listening', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const page = await browser.newPage({ locale: 'zh-CN' });
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => console.error(`Refused to (CSP) ${e.violatedDirective} ${e.blockedURI}`));
    });
    let scriptRan = false;
    page.on('response', (r) => {
      if (/\/assets\/site\.[0-9a-f]+\.js$/.test(r.url()) && r.status() === 200) scriptRan = true;
    });

    for (const path of ['/', '/?lang=en', '/report', '/follow-up']) {
      const res = await page.goto(`${base}${path}`);
      expect(res!.status(), path).toBe(200);
      expect(res!.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    }
    // The discipline body's page (here its "invalid link" answer) loads its stylesheet under the same strict policy.
    const referral = await page.goto(`${base}/referrals/00000000-0000-4000-8000-000000000000?exp=1&sig=x`);
    expect(referral!.status()).toBe(403);
    expect(await page.evaluate(() => getComputedStyle(document.body).maxWidth)).toBe('704px');
    await page.goto(`${base}/report`);
    await page.getByLabel('发生了什么？（必填）').fill('居委会主任把自己的表弟纳入了低保，可他表弟家里有两套房。');
    await page.selectOption('#unitId', tree.committeeA.id);
    await page.getByRole('button', { name: '提交举报' }).click();
    await page.waitForSelector('#tracking-code');
    const code = (await page.textContent('#tracking-code'))!.trim();
    const secret = (await page.textContent('#secret'))!.trim();
    await page.goto(`${base}/follow-up`);
    await page.fill('#code', code);
    await page.fill('#secret', secret);
    await page.locator('form[action^="/follow-up?"] button[type="submit"]').click();
    await page.waitForSelector('textarea[name="body"]');
    await page.fill('textarea[name="body"]', '补充一点情况：他家还有一辆车。');
    await page.locator('form[action^="/follow-up/messages"] button[type="submit"]').click();
    await page.waitForLoadState('load');
    expect(await page.content()).toContain('补充一点情况');
    // the page script ran (it is served and allowed), and the browser refused nothing
    expect(scriptRan).toBe(true);
    expect(await page.evaluate(() => document.documentElement.className + ' ' + document.querySelectorAll('script[src]').length)).toMatch(/ 1$/);
    expect(violations).toEqual([]);
  });
});
