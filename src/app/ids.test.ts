import { describe, expect, it } from 'vitest';
import { timeOrderedUuid, UUID } from './ids.ts';

describe('timeOrderedUuid', () => {
  it('is a version-7 UUID whose first 48 bits are the milliseconds given', () => {
    const ms = Date.UTC(2026, 11, 4, 1, 2, 3, 456);
    const id = timeOrderedUuid(ms);
    expect(id).toMatch(UUID);
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]!);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
  });

  it('sorts as its times do, and differs within one millisecond', () => {
    const base = Date.UTC(2026, 0, 1);
    const ids = [5, 1, 3, 2, 4].map((d) => ({ d, id: timeOrderedUuid(base + d) }));
    expect([...ids].sort((a, b) => (a.id < b.id ? -1 : 1)).map((x) => x.d)).toEqual([1, 2, 3, 4, 5]);
    const same = new Set(Array.from({ length: 1000 }, () => timeOrderedUuid(base)));
    expect(same.size).toBe(1000);
  });
});
