import { stripControls } from '../../app/text.ts';
/**
 * CSV as Excel on Chinese Windows writes it: RFC 4180 (quoted fields, doubled quotes, line breaks
 * inside quotes), CRLF or LF, with or without a UTF-8 BOM, often GBK/GB18030 without any BOM, and
 * "Unicode text" (UTF-16 with a BOM, tab-separated). No dependency: the format is small.
 */

export type CsvEncoding = 'utf-8' | 'gb18030' | 'utf-16le' | 'utf-16be';

/** A file that cannot be read as CSV at all: the whole import stops. */
export class CsvFatalError extends Error {
  readonly line: number | null;
  constructor(message: string, line: number | null = null) {
    super(message);
    this.name = 'CsvFatalError';
    this.line = line;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const gb18030 = new TextDecoder('gb18030', { fatal: true });

/**
 * Bytes to text. A UTF-8 BOM means UTF-8; UTF-16 BOMs mean UTF-16; otherwise valid UTF-8 is UTF-8
 * and anything else is taken as GB18030 (a superset of GBK and GB2312), what Excel writes on
 * Chinese Windows. `declared` is a charset from the Content-Type header, honoured for the GB family.
 */
export function decodeCsv(bytes: Uint8Array, declared?: string): { text: string; encoding: CsvEncoding } {
  if (bytes.length === 0) throw new CsvFatalError('文件为空 / The file is empty');
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    throw new CsvFatalError('这是 Excel 工作簿（.xlsx），请在 Excel 中“另存为 CSV”后再导入 / This is an Excel workbook (.xlsx): save it as CSV first');
  }
  if (bytes[0] === 0xd0 && bytes[1] === 0xcf && bytes[2] === 0x11 && bytes[3] === 0xe0) {
    throw new CsvFatalError('这是旧版 Excel 文件（.xls），请另存为 CSV 后再导入 / This is an old Excel file (.xls): save it as CSV first');
  }
  let text: string;
  let encoding: CsvEncoding;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    encoding = 'utf-16le';
    text = decodeOrFail(new TextDecoder('utf-16le', { fatal: true }), bytes.subarray(2));
  } else if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    encoding = 'utf-16be';
    text = decodeOrFail(new TextDecoder('utf-16be', { fatal: true }), bytes.subarray(2));
  } else if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    encoding = 'utf-8';
    text = decodeOrFail(utf8, bytes.subarray(3));
  } else if (declared && /^(gbk|gb2312|gb18030|cp936|x-gbk)$/i.test(declared)) {
    encoding = 'gb18030';
    text = decodeOrFail(gb18030, bytes);
  } else {
    try {
      text = utf8.decode(bytes);
      encoding = 'utf-8';
    } catch {
      encoding = 'gb18030';
      text = decodeOrFail(gb18030, bytes);
    }
  }
  // Text files have no NUL characters; a binary file decoded by chance does.
  if (text.includes('\u0000')) throw new CsvFatalError('文件不是文本格式的 CSV / The file is not a text CSV file');
  // Other control characters (a stray form feed or escape) are dropped: text.ts.
  return { text: stripControls(text), encoding };
}

function decodeOrFail(decoder: TextDecoder, bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new CsvFatalError('文件编码无法识别（应为 UTF-8 或 GBK）/ Unknown text encoding (expected UTF-8 or GBK)');
  }
}

export interface CsvRecord {
  /** The physical line the record starts on (1-based; the header is usually line 1). */
  line: number;
  cells: string[];
}

/** Comma, unless the first line has tabs and no commas (Excel's "Unicode text" export). */
export function detectDelimiter(text: string): ',' | '\t' {
  const end = text.search(/\r|\n/);
  const firstLine = end === -1 ? text : text.slice(0, end);
  return firstLine.includes('\t') && !firstLine.includes(',') ? '\t' : ',';
}

/**
 * RFC 4180 records. Line breaks inside quotes are kept (as `\n`); CRLF, LF and a lone CR end a
 * record. Records whose cells are all empty (blank lines, Excel's ",,,,") are dropped. A stray
 * or unterminated quote makes the structure of the rest unknowable, so it is fatal.
 */
export function parseCsv(text: string, delimiter: ',' | '\t' = detectDelimiter(text)): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let line = 1;
  let recordLine = 1;
  let row: string[] = [];
  let field = '';
  let inQuotes = false;
  let quoted = false; // the current field was quoted and its closing quote has been seen
  let quoteLine = 0;

  const endRecord = () => {
    row.push(field);
    if (row.some((c) => c.trim() !== '')) records.push({ line: recordLine, cells: row });
    row = [];
    field = '';
    quoted = false;
  };

  for (let i = 0; i < n; i++) {
    const ch = text[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
          quoted = true;
        }
      } else if (ch === '\r' || ch === '\n') {
        if (ch === '\r' && text[i + 1] === '\n') i++;
        field += '\n';
        line++;
      } else {
        field += ch;
      }
      continue;
    }
    if (ch === delimiter) {
      row.push(field);
      field = '';
      quoted = false;
    } else if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else if (quoted) {
      throw new CsvFatalError(`第${line}行：引号后出现多余字符，CSV 格式错误 / Line ${line}: text after a closing quote; the CSV is malformed`, line);
    } else if (ch === '"') {
      if (field !== '') {
        throw new CsvFatalError(`第${line}行：未加引号的字段中出现引号，CSV 格式错误 / Line ${line}: a quote inside an unquoted field; the CSV is malformed`, line);
      }
      inQuotes = true;
      quoteLine = line;
    } else {
      field += ch;
    }
  }
  if (inQuotes) {
    throw new CsvFatalError(`第${quoteLine}行开始的引号没有结束，CSV 格式错误 / The quote opened on line ${quoteLine} is never closed; the CSV is malformed`, quoteLine);
  }
  if (field !== '' || row.length > 0 || quoted) endRecord();
  return records;
}
