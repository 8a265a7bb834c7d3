import type { Programme, RegistrantRole, Relation } from './registry.entity.ts';

/**
 * The words people write in the Dong'an-style annex forms, in Chinese or English, mapped to the
 * codes the registry stores. Matching ignores case, spaces, `_` and `-` and full-width forms.
 */
export function vocabKey(raw: string): string {
  return raw
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s_\-－—'’]/g, '');
}

function table<T extends string>(entries: Record<T, string[]>): Map<string, T> {
  const map = new Map<string, T>();
  for (const [code, words] of Object.entries(entries) as [T, string[]][]) {
    map.set(vocabKey(code), code);
    for (const w of words) map.set(vocabKey(w), code);
  }
  return map;
}

export const relationWords = table<Relation>({
  spouse: ['配偶', '夫妻', '妻子', '丈夫', '妻', '夫', '爱人', '老婆', '老公', 'wife', 'husband'],
  parent: ['父母', '父亲', '母亲', '本人父亲', '本人母亲', '父', '母', '爸爸', '妈妈', '养父', '养母', '继父', '继母', 'father', 'mother', 'parents'],
  child: ['子女', '儿子', '女儿', '子', '女', '养子', '养女', '继子', '继女', 'son', 'daughter', 'children'],
  sibling: ['兄弟姐妹', '兄弟', '姐妹', '兄妹', '姐弟', '哥哥', '弟弟', '姐姐', '妹妹', '兄', '弟', '姐', '妹', 'brother', 'sister', 'siblings'],
  grandparent: ['祖父母', '外祖父母', '祖父', '祖母', '外祖父', '外祖母', '爷爷', '奶奶', '外公', '外婆', 'grandfather', 'grandmother', 'grandparents'],
  grandchild: ['孙子女', '外孙子女', '孙子', '孙女', '外孙', '外孙女', 'grandson', 'granddaughter', 'grandchildren'],
  in_law: [
    '姻亲', '配偶父母', '配偶父亲', '配偶母亲', '岳父', '岳母', '公公', '婆婆', '儿媳', '女婿', '儿媳妇',
    'inlaw', 'in-law', 'in law', 'father-in-law', 'mother-in-law', 'son-in-law', 'daughter-in-law', 'parent-in-law',
  ],
  other: ['其他', '其它', '其他近亲属', '具有法定赡养关系的近亲属', '具有法定赡（扶、抚）养关系的近亲属', '近亲属'],
});

export const programmeWords = table<Programme>({
  dibao: ['低保', '最低生活保障', '城乡低保', '城市低保', '农村低保', '城市最低生活保障', '农村最低生活保障', 'minimum living allowance', 'minimum livelihood guarantee'],
  extreme_poverty: ['特困', '特困供养', '特困人员', '特困人员救助供养', '特困人员供养', '五保', '五保户', 'extreme poverty', 'extreme-poverty support', 'extreme poverty support'],
  other: ['其他', '其它', '其他救助', '临时救助', '医疗救助', '低保边缘', '支出型贫困'],
});

export const registrantRoleWords = table<RegistrantRole>({
  civil_affairs_staff: ['民政干部', '民政干部职工', '民政部门干部职工', '民政工作人员', '民政部门工作人员', '民政局工作人员', '民政所工作人员', '民政助理', '民政干事', 'civil affairs staff', 'civil-affairs staff'],
  caseworker: ['经办人员', '低保经办人员', '经办人', '救助经办人员', '社会救助经办人员', 'case worker'],
  cadre: ['村干部', '居委会干部', '村委会干部', '村（居）委会干部', '村居干部', '社区干部', '村(居)委会干部', 'village cadre', 'committee cadre'],
  official: ['公职人员', '国家公职人员', '财政供养人员', '机关事业单位工作人员', 'public official', 'civil servant'],
  other: ['其他', '其它', '其他人员'],
});

/** CSV columns, by the field they fill. */
export const csvFields = [
  'registrantName',
  'registrantUnit',
  'registrantRole',
  'relativeName',
  'relation',
  'idNumber',
  'programme',
  'since',
  'householdAddress',
  'registrantUsername',
] as const;
export type CsvField = (typeof csvFields)[number];

export const requiredCsvFields: readonly CsvField[] = [
  'registrantName',
  'registrantUnit',
  'registrantRole',
  'relativeName',
  'relation',
  'idNumber',
  'programme',
  'since',
];

/** The canonical Chinese header of each field (used in messages and the template). */
export const csvHeaders: Record<CsvField, string> = {
  registrantName: '登记人姓名',
  registrantUnit: '登记人单位',
  registrantRole: '登记人身份',
  relativeName: '亲属姓名',
  relation: '关系',
  idNumber: '身份证号',
  programme: '救助类别',
  since: '享受起始日期',
  householdAddress: '家庭住址',
  registrantUsername: '登记人账号',
};

const headerAliases: Record<CsvField, string[]> = {
  registrantName: ['登记人姓名', '登记人', '报告人姓名', '报告人', '国家公职人员姓名', '公职人员姓名', '工作人员姓名', 'registrant name', 'registrant'],
  registrantUnit: ['登记人单位', '单位名称', '单位', '工作单位', '所在单位', '单位编码', '登记人单位编码', 'registrant unit', 'unit', 'unit code', 'unit name'],
  registrantRole: ['登记人身份', '身份', '人员类别', '登记人类别', 'registrant role', 'role'],
  relativeName: ['亲属姓名', '享受低保人员姓名', '享受人员姓名', '享受救助人员姓名', '姓名', 'relative name', 'relative'],
  relation: ['关系', '与登记人关系', '与国家公职人员关系', '与报告人关系', '亲属关系', '与本人关系', 'relation', 'relationship'],
  idNumber: ['身份证号', '身份证号码', '亲属身份证号', '亲属身份证号码', '公民身份号码', '身份证', 'id number', 'id', 'id no', 'id card', 'id card number', 'relative id number', 'citizen id'],
  programme: ['救助类别', '救助类型', '保障类别', '享受类别', '救助项目', 'programme', 'program', 'assistance', 'assistance type'],
  since: ['享受起始日期', '享受低保时间', '享受时间', '起始日期', '开始享受日期', '纳入时间', '享受开始日期', 'since', 'start date', 'start', 'from'],
  householdAddress: ['家庭住址', '现住址', '住址', '家庭地址', '现住址（乡镇、村、社区）', 'household address', 'address'],
  registrantUsername: ['登记人账号', '账号', '用户名', 'registrant username', 'username'],
};

/** Header text to its key: required-marks (`*`), bracketed notes ("（18位）") and spacing dropped. */
export function headerKey(raw: string): string {
  return vocabKey(raw.replace(/^\uFEFF/, '').normalize('NFKC').replace(/\([^)]*\)/g, '').replace(/[*：:]/g, ''));
}

const headerLookup = new Map<string, CsvField>();
for (const [field, aliases] of Object.entries(headerAliases) as [CsvField, string[]][]) {
  for (const a of aliases) headerLookup.set(headerKey(a), field);
}

export function fieldOfHeader(raw: string): CsvField | undefined {
  return headerLookup.get(headerKey(raw));
}

/**
 * 2024-03-01, 2024/3/1, 2024年3月1日 (and 2024.3.1) to YYYY-MM-DD; `null` if not a real date.
 */
export function parseDate(raw: string): string | null {
  const s = raw.normalize('NFKC').trim();
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s) ?? /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/.exec(s) ?? /^(\d{4})年(\d{1,2})月(\d{1,2})日$/.exec(s) ?? /^(\d{4})\.(\d{1,2})\.(\d{1,2})$/.exec(s);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return date.toISOString().slice(0, 10);
}

/** A person's name for matching (src/app/text.ts: the clues module keys accused names with it too). */
export { nameKey } from '../../app/text.ts';
