import { idCheckCharacter } from '../../src/modules/registry/id-number.ts';

/** A valid 18-character ID number: region, birth date (YYYYMMDD), 3-digit sequence, check character. */
export function makeId(birth: string, seq: string, region = '310107'): string {
  const first17 = `${region}${birth}${seq}`;
  return `${first17}${idCheckCharacter(first17)}`;
}

/** The same number with a wrong check character. */
export function withWrongCheck(id: string): string {
  const wrong = id[17] === '0' ? '1' : '0';
  return `${id.slice(0, 17)}${wrong}`;
}

let gbkTable: Map<string, number[]> | undefined;

/**
 * Text to GBK bytes as Excel on Chinese Windows saves a CSV. Node has no GBK encoder, so the table
 * is built by decoding every two-byte GBK code once.
 */
export function encodeGbk(text: string): Uint8Array {
  if (!gbkTable) {
    gbkTable = new Map();
    const decoder = new TextDecoder('gbk');
    for (let hi = 0x81; hi <= 0xfe; hi++) {
      for (let lo = 0x40; lo <= 0xfe; lo++) {
        if (lo === 0x7f) continue;
        const ch = decoder.decode(new Uint8Array([hi, lo]));
        if (ch.length === 1 && ch !== '\ufffd' && !gbkTable.has(ch)) gbkTable.set(ch, [hi, lo]);
      }
    }
  }
  const out: number[] = [];
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code < 0x80) out.push(code);
    else {
      const bytes = gbkTable.get(ch);
      if (!bytes) throw new Error(`not in GBK: ${ch}`);
      out.push(...bytes);
    }
  }
  return new Uint8Array(out);
}

/** RFC 4180 line: quotes a cell when it holds a comma, a quote or a line break. */
export function csvLine(cells: string[]): string {
  return cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');
}

export const HEADER = ['登记人姓名', '登记人单位', '登记人身份', '亲属姓名', '关系', '身份证号', '救助类别', '享受起始日期', '家庭住址'];
