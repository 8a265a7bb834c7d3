import { loadExcel } from './clue-export.ts';
import { annexColumns } from './statistics.definitions.ts';
import type { SelfInspectionTable } from './self-inspection.ts';

/** The annex's notes (备注), as printed under its table. */
export const ANNEX_NOTES = '1. 请于规定日期前报送至区民政局社会救助科； 2. 请加强沟通协同，确保报送数据与报送同级纪检监察机关数据一致。';

/**
 * The annex's header, cell by cell (rows 3–5 of the sheet): a group row, then the items, then the
 * units of the paired columns; single columns are merged down over the last two rows.
 */
export const annexHeader: { cell: string; text: string; merge?: string }[] = [
  { cell: 'A3', text: '类别', merge: 'A3:A5' },
  { cell: 'B3', text: '对象认定不精准情况', merge: 'B3:J3' },
  { cell: 'K3', text: '民政部门问题线索查处情况', merge: 'K3:L3' },
  { cell: 'M3', text: '其它', merge: 'M3:N3' },
  { cell: 'O3', text: '社会救助领域信访事项处理情况', merge: 'O3:P3' },
  { cell: 'B4', text: '清退“人情保”', merge: 'B4:C4' },
  { cell: 'D4', text: '清退“关系保”', merge: 'D4:E4' },
  { cell: 'F4', text: '清退“政策保”', merge: 'F4:G4' },
  { cell: 'H4', text: '清退因审核把关不严、随意放宽“三无”认定条件纳入特困供养人员', merge: 'H4:I4' },
  { cell: 'J4', text: '纠正以“单人保”代替“整户保”问题，新纳入低保人数（人）', merge: 'J4:J5' },
  { cell: 'K4', text: '问题线索数（条）', merge: 'K4:K5' },
  { cell: 'L4', text: '其中' },
  { cell: 'L5', text: '已处置到位数（件）' },
  { cell: 'M4', text: '卡折代管案数（人）', merge: 'M4:M5' },
  { cell: 'N4', text: '近亲属备案数（人）', merge: 'N4:N5' },
  { cell: 'O4', text: '办理社会救助领域信访事项数（件）', merge: 'O4:O5' },
  { cell: 'P4', text: '其中' },
  { cell: 'P5', text: '已处置到位数（件）' },
  ...['B', 'D', 'F', 'H'].flatMap((col) => {
    const next = String.fromCharCode(col.charCodeAt(0) + 1);
    return [
      { cell: `${col}5`, text: '人数（人）' },
      { cell: `${next}5`, text: '追回资金（元）' },
    ];
  }),
];

const thin = { style: 'thin' as const };
const border = { top: thin, left: thin, bottom: thin, right: thin };

/**
 * The table as the bureau's template lays it out: title, 街镇 / 联系人 / 电话 / 填报日期, the merged
 * header, a line per street or town (and the district's own line and total), the "type not
 * recorded" line when there is one, and 备注. Opens in Excel and WPS (plain OOXML from exceljs).
 */
export async function selfInspectionWorkbook(table: SelfInspectionTable, meta: { title: string; contact?: string; phone?: string; filledOn: string }): Promise<Buffer> {
  const wb = new (await loadExcel()).Workbook();
  wb.creator = 'dibao-hotline';
  const ws = wb.addWorksheet('自查自纠统计表', { pageSetup: { orientation: 'landscape', paperSize: 9, fitToPage: true, fitToWidth: 1, fitToHeight: 0 } });
  ws.columns = [{ width: 18 }, ...annexColumns.map(() => ({ width: 12 }))];

  ws.mergeCells('A1:P1');
  ws.getCell('A1').value = meta.title;
  ws.getCell('A1').font = { bold: true, size: 14 };
  ws.getCell('A1').alignment = { horizontal: 'center', vertical: 'middle', wrapText: true };
  ws.getRow(1).height = 36;

  const fields: [string, string, string][] = [
    ['A2:D2', '街镇：', table.unit.name],
    ['E2:H2', '联系人：', meta.contact ?? ''],
    ['I2:L2', '电话：', meta.phone ?? ''],
    ['M2:P2', '填报日期：', meta.filledOn],
  ];
  for (const [range, label, value] of fields) {
    ws.mergeCells(range);
    ws.getCell(range.split(':')[0]!).value = `${label}${value}`;
  }

  for (const h of annexHeader) {
    if (h.merge) ws.mergeCells(h.merge);
    const cell = ws.getCell(h.cell);
    cell.value = h.text;
    cell.font = { bold: true };
    cell.alignment = { horizontal: 'center', vertical: 'middle', wrapText: true };
  }
  ws.getRow(4).height = 60;
  ws.getRow(5).height = 30;

  const lines = table.rows.length > 1 ? [...table.rows.map((r) => [r.unitName, r.figures] as const), ['合计', table.total] as const] : [['数据', table.rows[0]!.figures] as const];
  let rowNo = 6;
  for (const [label, figures] of lines) {
    const row = ws.getRow(rowNo++);
    row.getCell(1).value = label;
    annexColumns.forEach((c, i) => {
      const cell = row.getCell(i + 2);
      cell.value = figures[c.key];
      if (c.key.endsWith('Funds')) cell.numFmt = '#,##0.00';
    });
    if (label === '合计') row.font = { bold: true };
  }
  if (table.untyped.clues > 0) {
    ws.mergeCells(`A${rowNo}:P${rowNo}`);
    ws.getCell(`A${rowNo}`).value =
      `另有 ${table.untyped.clues} 条线索办结时未记录问题类型，清退 ${table.untyped.peopleRemoved} 人、追回资金 ${table.untyped.fundsRecoveredYuan.toFixed(2)} 元，未计入上表分类。`;
    ws.getCell(`A${rowNo}`).alignment = { wrapText: true };
    rowNo++;
  }
  ws.getCell(`A${rowNo}`).value = '备注';
  ws.mergeCells(`B${rowNo}:P${rowNo}`);
  ws.getCell(`B${rowNo}`).value = ANNEX_NOTES;
  ws.getCell(`B${rowNo}`).alignment = { wrapText: true, vertical: 'middle' };
  ws.getRow(rowNo).height = 32;

  for (let r = 3; r <= rowNo; r++) for (let c = 1; c <= 16; c++) ws.getRow(r).getCell(c).border = border;
  return Buffer.from(await wb.xlsx.writeBuffer());
}
