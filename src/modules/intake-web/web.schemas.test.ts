import { describe, expect, it } from 'vitest';
import { base64File } from './web.schemas.ts';

describe('base64File', () => {
  it('decodes standard base64 once, to bytes of its own', () => {
    for (const bytes of [Buffer.alloc(0), Buffer.from('a'), Buffer.from('ab'), Buffer.from('abc'), Buffer.from('低保审批材料'), Buffer.alloc(70_000, 7)]) {
      const out = base64File.parse(bytes.toString('base64'));
      expect(Buffer.from(out).equals(bytes)).toBe(true);
      expect(out.byteOffset).toBe(0);
      expect(out.buffer.byteLength).toBe(out.length);
    }
  });

  it('refuses anything that is not strictly padded base64', () => {
    const good = Buffer.from('低保审批材料').toString('base64');
    for (const bad of [good.slice(0, -1), `${good.slice(0, 4)}!${good.slice(5)}`, `${good.slice(0, 4)} ${good.slice(5)}`, `${good}\n`, 'YQ', 'Y===', '=YWI', `${good.slice(0, 4)}=${good.slice(5)}`]) {
      expect(base64File.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
