import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestEnv } from './helpers.ts';

// Issue 12, item 11: an unknown tracking code (well-formed or not) and a wrong secret run the same
// steps (a lookup and an HMAC comparison), so timing does not tell whether a code exists.
//
// Statistic: 1 000 requests of each kind, interleaved (ABAB…, so load on the machine hits both
// alike), after a warm-up. The medians must differ by less than a quarter of the larger
// interquartile range plus 20 µs. Medians and IQRs are robust to the outliers a loaded 2-core
// machine produces (GC, other processes); the old code skipped the database lookup for a code
// failing its check digit (nine codes in ten), a difference of a whole round trip.

let t: TestEnv;
let code: string;

beforeAll(async () => {
  t = await createTestApp({ RATE_FOLLOWUP_PER_CLIENT_10MIN: '1000000', RATE_FOLLOWUP_GLOBAL_10MIN: '1000000', LOG_LEVEL: 'info' });
  const r = await t.call('POST', '/api/v1/reports', { body: { narrative: '村主任冒领低保，每月都领。' } });
  code = r.json.trackingCode;
});
afterAll(() => t?.close());

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), iqr: quantile(s, 0.75) - quantile(s, 0.25) };
};

describe('same answer, same work', () => {
  it('1 000 unknown codes and 1 000 wrong secrets: medians within a quarter IQR', { timeout: 120_000 }, async () => {
    const secret = (i: number) => `ABCDE-FGHIJ-KLMNO-${String(10000 + i).slice(-5)}`;
    const unknown = (i: number) => String(310000000000 + i * 7919).slice(0, 12);
    // The reporter's key itself (what every channel calls), without the HTTP layer's own noise.
    const time = async (path: string, s: string) => {
      const c = path.slice(path.lastIndexOf('/') + 1);
      const start = performance.now();
      const clue = await t.deps.clues.authenticateReporter(c, s);
      const ms = performance.now() - start;
      expect(clue).toBeNull();
      return ms;
    };
    for (let i = 0; i < 100; i++) {
      await time(`/api/v1/reports/${unknown(i)}`, secret(i));
      await time(`/api/v1/reports/${code}`, secret(i));
    }
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 1000; i++) {
      a.push(await time(`/api/v1/reports/${unknown(1000 + i)}`, secret(i)));
      b.push(await time(`/api/v1/reports/${code}`, secret(i)));
    }
    const sa = stats(a);
    const sb = stats(b);
    console.log(`unknown code: median ${sa.median.toFixed(3)} ms, IQR ${sa.iqr.toFixed(3)}; wrong secret: median ${sb.median.toFixed(3)} ms, IQR ${sb.iqr.toFixed(3)}`);
    expect(Math.abs(sa.median - sb.median)).toBeLessThan(0.25 * Math.max(sa.iqr, sb.iqr) + 0.02);
  });
});
