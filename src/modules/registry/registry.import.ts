import { CsvFatalError, type CsvRecord } from './csv.ts';
import { idNumberProblem, idProblemReasons, normalizeIdNumber } from './id-number.ts';
import type { Programme, RegistrantRole, Relation } from './registry.entity.ts';
import {
  type CsvField,
  csvHeaders,
  fieldOfHeader,
  nameKey,
  parseDate,
  programmeWords,
  registrantRoleWords,
  relationWords,
  requiredCsvFields,
  vocabKey,
} from './vocabulary.ts';

/** One problem of one row; `reason` is zh-CN first, then English. Never carries the cell's value. */
export interface RowError {
  line: number;
  column: string | null;
  reason: string;
}

export interface HeaderMap {
  /** Field → index of its column. */
  index: Partial<Record<CsvField, number>>;
  /** Field → the header text as written in the file, for error messages. */
  label: Partial<Record<CsvField, string>>;
  /** Columns nobody reads (kept for the response, so a misspelt header is noticed). */
  ignored: string[];
  line: number;
  /** How many columns the header has. */
  width: number;
}

/** Maps the header row; a missing required column or a column given twice is fatal. */
export function readHeader(header: CsvRecord): HeaderMap {
  const index: HeaderMap['index'] = {};
  const label: HeaderMap['label'] = {};
  const ignored: string[] = [];
  const errors: RowError[] = [];
  header.cells.forEach((raw, i) => {
    const text = raw.trim();
    const field = fieldOfHeader(text);
    if (!field) {
      if (text) ignored.push(text);
      return;
    }
    if (index[field] !== undefined) {
      errors.push({ line: header.line, column: text, reason: `列重复（与“${label[field]}”同义）/ Duplicate column (same as "${label[field]}")` });
      return;
    }
    index[field] = i;
    label[field] = text;
  });
  for (const f of requiredCsvFields) {
    if (index[f] === undefined) {
      errors.push({ line: header.line, column: csvHeaders[f], reason: `缺少必需的列“${csvHeaders[f]}” / Required column "${csvHeaders[f]}" is missing` });
    }
  }
  if (errors.length) throw new HeaderError(errors);
  return { index, label, ignored, line: header.line, width: header.cells.length };
}

export class HeaderError extends CsvFatalError {
  readonly errors: RowError[];
  constructor(errors: RowError[]) {
    super('表头缺少必需的列或有重复列 / The header lacks required columns or repeats one', errors[0]?.line ?? 1);
    this.errors = errors;
  }
}

export interface UnitRef {
  id: string;
  code: string;
  name: string;
  path: string;
}

export interface ValidRow {
  line: number;
  registrantName: string;
  registrantNameKey: string;
  registrantUnitId: string;
  registrantRole: RegistrantRole;
  registrantUsername: string | null;
  relativeName: string;
  relativeNameKey: string;
  relation: Relation;
  idNumber: string;
  programme: Programme;
  since: string;
  householdAddress: string | null;
}

export interface RowContext {
  /** YYYY-MM-DD today (Asia/Shanghai): neither a birth date nor `since` may be later. */
  today: string;
  unitsByCode: Map<string, UnitRef>;
  unitsByName: Map<string, UnitRef[]>;
  /** The importer may register for this unit (their subtree; admins everywhere). */
  mayUseUnit: (unit: UnitRef) => boolean;
}

export function unitIndex(units: UnitRef[]) {
  const unitsByCode = new Map(units.map((u) => [u.code.trim(), u]));
  const unitsByName = new Map<string, UnitRef[]>();
  for (const u of units) unitsByName.set(u.name.trim(), [...(unitsByName.get(u.name.trim()) ?? []), u]);
  return { unitsByCode, unitsByName };
}

const MAX_NAME = 100;
const MAX_ADDRESS = 500;

/** Checks one data row; either a row ready to store or its problems (all of them, column by column). */
export function validateRecord(rec: CsvRecord, header: HeaderMap, ctx: RowContext): { row: ValidRow } | { errors: RowError[] } {
  const errors: RowError[] = [];
  const cell = (f: CsvField) => {
    const i = header.index[f];
    return i === undefined ? '' : (rec.cells[i] ?? '').trim();
  };
  const fail = (f: CsvField | null, reason: string) => errors.push({ line: rec.line, column: f ? (header.label[f] ?? csvHeaders[f]) : null, reason });
  const required = (f: CsvField, zh: string, en: string) => {
    const v = cell(f);
    if (!v) fail(f, `${zh}不能为空 / ${en} is required`);
    return v;
  };

  if (rec.cells.slice(header.width).some((c) => c.trim() !== '')) {
    fail(null, '该行的列数多于表头（可能有未加引号的逗号）/ The row has more columns than the header (an unquoted comma?)');
  }

  const registrantName = required('registrantName', '登记人姓名', 'Registrant name');
  if (registrantName.length > MAX_NAME) fail('registrantName', `登记人姓名过长（最多${MAX_NAME}字）/ Registrant name is too long (max ${MAX_NAME})`);

  const unitText = required('registrantUnit', '登记人单位', 'Registrant unit');
  let unitId = '';
  if (unitText) {
    const byCode = ctx.unitsByCode.get(unitText);
    const byName = ctx.unitsByName.get(unitText) ?? [];
    const unit = byCode ?? (byName.length === 1 ? byName[0] : undefined);
    if (!unit && byName.length > 1) {
      fail('registrantUnit', '单位名称不唯一，请填写单位编码 / Several units have this name: use the unit code');
    } else if (!unit) {
      fail('registrantUnit', '单位不存在（请填写单位编码或完整名称）/ Unknown unit (give its code or exact name)');
    } else if (!ctx.mayUseUnit(unit)) {
      fail('registrantUnit', '单位不在您的管辖范围内 / The unit is outside your units');
    } else {
      unitId = unit.id;
    }
  }

  const roleText = required('registrantRole', '登记人身份', 'Registrant role');
  const role = roleText ? registrantRoleWords.get(vocabKey(roleText)) : undefined;
  if (roleText && !role) {
    fail('registrantRole', '登记人身份无法识别（民政干部职工、经办人员、村（居）委会干部、公职人员、其他）/ Unknown registrant role (civil_affairs_staff, caseworker, cadre, official, other)');
  }

  const relativeName = required('relativeName', '亲属姓名', 'Relative name');
  if (relativeName.length > MAX_NAME) fail('relativeName', `亲属姓名过长（最多${MAX_NAME}字）/ Relative name is too long (max ${MAX_NAME})`);

  const relationText = required('relation', '关系', 'Relation');
  const relation = relationText ? relationWords.get(vocabKey(relationText)) : undefined;
  if (relationText && !relation) {
    fail('relation', '关系无法识别（配偶、父母、子女、兄弟姐妹、祖父母、孙子女、姻亲、其他）/ Unknown relation (spouse, parent, child, sibling, grandparent, grandchild, in-law, other)');
  }

  const idText = required('idNumber', '身份证号', 'ID number');
  const idNumber = normalizeIdNumber(idText);
  if (idText) {
    const problem = idNumberProblem(idNumber, new Date(`${ctx.today}T23:59:59Z`));
    if (problem) fail('idNumber', idProblemReasons[problem]);
  }

  const programmeText = required('programme', '救助类别', 'Programme');
  const programme = programmeText ? programmeWords.get(vocabKey(programmeText)) : undefined;
  if (programmeText && !programme) fail('programme', '救助类别无法识别（低保、特困供养、其他）/ Unknown programme (dibao, extreme_poverty, other)');

  const sinceText = required('since', '享受起始日期', 'Start date');
  const since = sinceText ? parseDate(sinceText) : null;
  if (sinceText && !since) {
    fail('since', '日期格式应为 YYYY-MM-DD、YYYY/M/D 或 YYYY年M月D日，且须为有效日期 / The date must be YYYY-MM-DD, YYYY/M/D or YYYY年M月D日 and a real date');
  } else if (since && since > ctx.today) {
    fail('since', '享受起始日期不能晚于今天 / The start date cannot be in the future');
  } else if (since && since < '1950-01-01') {
    fail('since', '享受起始日期过早 / The start date is too early');
  }

  const address = cell('householdAddress');
  if (address.length > MAX_ADDRESS) fail('householdAddress', `家庭住址过长（最多${MAX_ADDRESS}字）/ Household address is too long (max ${MAX_ADDRESS})`);

  if (errors.length) return { errors };
  return {
    row: {
      line: rec.line,
      registrantName,
      registrantNameKey: nameKey(registrantName),
      registrantUnitId: unitId,
      registrantRole: role!,
      registrantUsername: cell('registrantUsername') || null,
      relativeName,
      relativeNameKey: nameKey(relativeName),
      relation: relation!,
      idNumber,
      programme: programme!,
      since: since!,
      householdAddress: address || null,
    },
  };
}

