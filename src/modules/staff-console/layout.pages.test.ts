import { html } from 'hono/html';
import { describe, expect, it } from 'vitest';
import { layout, NOTICE_BADGE_CAP, type Shell } from './layout.pages.ts';

const shell = (newNotices: number): Shell => ({ locale: 'zh-CN', csrf: 'x', path: '/staff', user: { username: 'op', role: 'operator' }, newNotices });
const badge = async (n: number) => {
  const page = String(await layout(shell(n), 'T', html`<p>body</p>`));
  return /<span class="count">([^<]*)<\/span>/.exec(page)?.[1] ?? null;
};

describe('the notices badge', () => {
  it('shows the count up to the cap, then the cap with a plus, and nothing for none', async () => {
    expect(await badge(0)).toBeNull();
    expect(await badge(1)).toBe('1');
    expect(await badge(NOTICE_BADGE_CAP)).toBe(String(NOTICE_BADGE_CAP));
    expect(await badge(NOTICE_BADGE_CAP + 1)).toBe(`${NOTICE_BADGE_CAP}+`);
  });
});
