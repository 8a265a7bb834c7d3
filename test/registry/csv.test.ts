import { describe, expect, it } from 'vitest';
import { CsvFatalError, decodeCsv, parseCsv } from '../../src/modules/registry/csv.ts';
import { idCheckCharacter, idNumberProblem, maskIdNumber, normalizeIdNumber } from '../../src/modules/registry/id-number.ts';
import { HeaderError, readHeader } from '../../src/modules/registry/registry.import.ts';
import { fieldOfHeader, nameKey, parseDate, programmeWords, relationWords, vocabKey } from '../../src/modules/registry/vocabulary.ts';
import { encodeGbk, makeId, withWrongCheck } from './fixtures.ts';

const today = new Date('2026-11-22T00:00:00Z');

describe('CSV parsing (RFC 4180)', () => {
  it('reads quoted fields, doubled quotes, commas and line breaks inside quotes, CRLF and LF', () => {
    const text = 'a,b,c\r\n"x, y","say ""hi""",z\n"multi\r\nline",2,3\r\n';
    expect(parseCsv(text)).toEqual([
      { line: 1, cells: ['a', 'b', 'c'] },
      { line: 2, cells: ['x, y', 'say "hi"', 'z'] },
      { line: 3, cells: ['multi\nline', '2', '3'] },
    ]);
  });

  it('numbers records by the physical line they start on, skipping blank and all-empty lines', () => {
    const text = 'h1,h2\n\n"a\nb",1\n,,\nc,2';
    expect(parseCsv(text)).toEqual([
      { line: 1, cells: ['h1', 'h2'] },
      { line: 3, cells: ['a\nb', '1'] },
      { line: 6, cells: ['c', '2'] },
    ]);
  });

  it('handles a lone CR, empty fields and a last line without a line break', () => {
    expect(parseCsv('a,,c\rd,"",f')).toEqual([
      { line: 1, cells: ['a', '', 'c'] },
      { line: 2, cells: ['d', '', 'f'] },
    ]);
  });

  it('detects tab-separated "Unicode text" from Excel', () => {
    expect(parseCsv('姓名\t关系\n张三\t父亲\n')).toEqual([
      { line: 1, cells: ['姓名', '关系'] },
      { line: 2, cells: ['张三', '父亲'] },
    ]);
  });

  it('refuses an unterminated quote and stray quotes (the rest of the file would be misread)', () => {
    expect(() => parseCsv('a,b\n"open,1\n2,3\n')).toThrow(CsvFatalError);
    expect(() => parseCsv('a,b\n"x"y,1\n')).toThrow(/Line 2/);
    expect(() => parseCsv('a,b\nx"y,1\n')).toThrow(/quote inside an unquoted field/);
  });
});

describe('decoding', () => {
  const sample = '登记人姓名,亲属姓名\r\n张建国,张老汉\r\n';

  it('UTF-8 with and without a BOM', () => {
    const utf8 = new TextEncoder().encode(sample);
    expect(decodeCsv(utf8)).toEqual({ text: sample, encoding: 'utf-8' });
    expect(decodeCsv(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8]))).toEqual({ text: sample, encoding: 'utf-8' });
  });

  it('GBK without a BOM (invalid UTF-8) is decoded as GB18030', () => {
    const gbk = encodeGbk(sample);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(gbk)).toThrow();
    expect(decodeCsv(gbk)).toEqual({ text: sample, encoding: 'gb18030' });
  });

  it('UTF-16LE with a BOM', () => {
    const body = Buffer.from(sample, 'utf16le');
    expect(decodeCsv(new Uint8Array([0xff, 0xfe, ...body]))).toEqual({ text: sample, encoding: 'utf-16le' });
  });

  it('refuses empty files, workbooks and binary content', () => {
    expect(() => decodeCsv(new Uint8Array())).toThrow(/empty/);
    expect(() => decodeCsv(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2]))).toThrow(/xlsx/);
    expect(() => decodeCsv(new Uint8Array([0x61, 0x00, 0x62]))).toThrow(/not a text CSV/);
  });
});

describe('ID numbers (GB 11643, ISO 7064 MOD 11-2)', () => {
  it('computes the check character of the standard example', () => {
    expect(idCheckCharacter('11010519491231002')).toBe('X');
    expect(idNumberProblem('11010519491231002X', today)).toBeNull();
  });

  it('normalises full-width digits, spaces and a lower-case x', () => {
    expect(normalizeIdNumber(' １１０１０５ 19491231002x ')).toBe('11010519491231002X');
  });

  it('rejects wrong length, a wrong check digit and impossible or future birth dates', () => {
    const good = makeId('19800229', '123');
    expect(idNumberProblem(good, today)).toBeNull();
    expect(idNumberProblem(good.slice(0, 17), today)).toBe('format');
    expect(idNumberProblem(withWrongCheck(good), today)).toBe('check_digit');
    expect(idNumberProblem(makeId('19810229', '123'), today)).toBe('birth_date');
    expect(idNumberProblem(makeId('20300101', '123'), today)).toBe('birth_date');
    expect(idNumberProblem(makeId('18991231', '123'), today)).toBe('birth_date');
  });

  it('masks all but the first three and last four characters', () => {
    expect(maskIdNumber('310107198002291234')).toBe('310***********1234');
  });
});

describe('vocabulary and headers', () => {
  it('reads dates in the three accepted forms and refuses impossible ones', () => {
    expect(parseDate('2024-03-01')).toBe('2024-03-01');
    expect(parseDate('2024/3/1')).toBe('2024-03-01');
    expect(parseDate('2024年3月1日')).toBe('2024-03-01');
    expect(parseDate('2023/2/29')).toBeNull();
    expect(parseDate('03/01/2024')).toBeNull();
    expect(parseDate('45000')).toBeNull();
  });

  it('maps Chinese and English relation and programme words', () => {
    expect(relationWords.get(vocabKey('配偶父亲'))).toBe('in_law');
    expect(relationWords.get(vocabKey('Mother-in-law'))).toBe('in_law');
    expect(relationWords.get(vocabKey('子女'))).toBe('child');
    expect(relationWords.get(vocabKey('表舅'))).toBeUndefined();
    expect(programmeWords.get(vocabKey('特困供养'))).toBe('extreme_poverty');
    expect(programmeWords.get(vocabKey('Extreme poverty'))).toBe('extreme_poverty');
    expect(programmeWords.get(vocabKey('低保'))).toBe('dibao');
  });

  it('recognises header aliases, with BOMs, notes in brackets and required marks', () => {
    expect(fieldOfHeader('\uFEFF登记人姓名')).toBe('registrantName');
    expect(fieldOfHeader('身份证号码（18位）')).toBe('idNumber');
    expect(fieldOfHeader('*亲属姓名')).toBe('relativeName');
    expect(fieldOfHeader('Relative Name')).toBe('relativeName');
    expect(fieldOfHeader('id_number')).toBe('idNumber');
    expect(fieldOfHeader('备注')).toBeUndefined();
  });

  it('a header without required columns, or with one twice, is fatal and says which', () => {
    try {
      readHeader({ line: 1, cells: ['登记人姓名', '亲属姓名', '姓名'] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(HeaderError);
      const reasons = (err as HeaderError).errors.map((e) => e.column);
      expect(reasons).toEqual(expect.arrayContaining(['姓名', '身份证号', '登记人单位', '关系']));
    }
  });

  it('matches names regardless of spacing, width and middle dots', () => {
    expect(nameKey(' 阿卜杜·热合曼 ')).toBe(nameKey('阿卜杜热合曼'));
    expect(nameKey('张 三')).toBe('张三');
  });
});
