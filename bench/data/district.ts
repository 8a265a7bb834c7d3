/**
 * The district the history happens in: the unit tree (district → 8 streets and 4 towns → ~10
 * committees each), staff of every role, the discipline bodies, and the near-relative registry.
 * Everything is drawn from the seed; usernames are fixed so benchmarks can sign in by name.
 */
import type { KeyObject } from 'node:crypto';
import { seal } from '../../src/app/seal.ts';
import { idCheckCharacter, idNumberHash } from '../../src/modules/registry/id-number.ts';
import { nameKey } from '../../src/modules/registry/vocabulary.ts';
import { hashPassword } from '../../src/modules/staff/password.ts';
import { Rng } from './random.ts';
import { ANCHOR, BENCH_PASSWORD, DISTRICT, REGISTRY, STAFF, YEARS } from './shape.ts';
import type { DisciplineBodyRow, NearRelativeRow, StaffRow, UnitRow } from './tables.ts';
import { personName } from './words.ts';

export interface Unit extends UnitRow {
  /** Unit ids from this unit up to the root, itself first (escalation climbs this). */
  chain: string[];
  children: Unit[];
  staff: StaffRow[];
}

export interface District {
  root: Unit;
  /** Streets and towns. */
  level2: Unit[];
  committees: Unit[];
  units: Map<string, Unit>;
  staff: StaffRow[];
  bodies: DisciplineBodyRow[];
  registry: NearRelativeRow[];
  byRole(unit: Unit, role: string): StaffRow[];
}

const STREETS = ['东风', '新华', '和平', '光明', '胜利', '建设', '人民', '文化', '长寿', '曹杨', '甘泉', '石泉'];
const TOWNS = ['桃浦', '长征', '真如', '石湖', '江桥', '华漕'];
const COMMITTEES = ['春晖', '锦绣', '翠苑', '康乐', '安居', '丽园', '兴隆', '金桥', '和美', '瑞祥', '福寿', '明珠', '新村', '梅园', '兰苑'];
const VILLAGES = ['王家', '李家', '张庄', '大柳', '小河', '前进', '红星', '东湖', '西岭', '南塘', '北港', '杨树', '桃园', '青山', '马桥'];

/** A date-only string `days` before the anchor. */
const dateBefore = (days: number) => new Date(ANCHOR.getTime() - days * 86_400_000).toISOString().slice(0, 10);
const historyStart = new Date(ANCHOR.getTime() - YEARS * 365 * 86_400_000);

function makeUnit(rng: Rng, u: Omit<UnitRow, 'id' | 'path' | 'created_at'>, parent: Unit | null): Unit {
  const id = rng.uuid();
  const unit: Unit = {
    id,
    ...u,
    path: `${parent?.path ?? '/'}${id}/`,
    created_at: historyStart,
    chain: [id, ...(parent?.chain ?? [])],
    children: [],
    staff: [],
  };
  parent?.children.push(unit);
  return unit;
}

export async function buildDistrict(seed: number, keys: { reporterKey: KeyObject; secretHmacKey: KeyObject }): Promise<District> {
  const rng = new Rng(seed, 'district');
  const root = makeUnit(rng, { code: 'district', name: '区民政局', name_en: 'District Civil Affairs Bureau', kind: 'district', parent_id: null }, null);
  const level2: Unit[] = [];
  const committees: Unit[] = [];
  for (let i = 0; i < DISTRICT.streets + DISTRICT.towns; i++) {
    const isTown = i >= DISTRICT.streets;
    const n = isTown ? i - DISTRICT.streets + 1 : i + 1;
    const name = isTown ? `${TOWNS[n - 1]}镇` : `${STREETS[n - 1]}街道`;
    const u = makeUnit(rng, { code: isTown ? `town${n}` : `street${n}`, name, name_en: isTown ? `Town ${n}` : `Street ${n}`, kind: isTown ? 'town' : 'street', parent_id: root.id }, root);
    level2.push(u);
    const count = rng.int(...DISTRICT.committeesPerUnit);
    for (let c = 1; c <= count; c++) {
      const cname = isTown ? `${VILLAGES[(c - 1) % VILLAGES.length]}村村民委员会` : `${COMMITTEES[(c - 1) % COMMITTEES.length]}社区居民委员会`;
      committees.push(
        makeUnit(rng, { code: `${u.code}-c${String(c).padStart(2, '0')}`, name: cname, name_en: `${u.name_en} committee ${c}`, kind: isTown ? 'villagers_committee' : 'residents_committee', parent_id: u.id }, u),
      );
    }
  }
  const units = new Map([root, ...level2, ...committees].map((u) => [u.id, u]));

  // One scrypt hash for every bench account (scrypt is slow on purpose); its salt from the seed.
  const passwordHash = await hashPassword(BENCH_PASSWORD, rng.bytes(16));
  const staff: StaffRow[] = [];
  const addStaff = (unit: Unit, role: string, n: number, prefix: string, disciplineBody: string | null = null) => {
    const row: StaffRow = {
      id: rng.uuid(),
      username: `${prefix}.${role}.${n}`,
      display_name: personName(rng),
      password_hash: passwordHash,
      role,
      unit_id: unit.id,
      active: true,
      discipline_body: disciplineBody,
      created_at: historyStart,
    };
    staff.push(row);
    unit.staff.push(row);
    return row;
  };
  for (const [role, n] of Object.entries(STAFF.district)) for (let i = 1; i <= n; i++) addStaff(root, role, i, 'district');
  for (const u of level2) for (const [role, n] of Object.entries(STAFF.streetOrTown)) for (let i = 1; i <= n; i++) addStaff(u, role, i, u.code);
  for (const u of committees) for (const [role, n] of Object.entries(STAFF.committee)) for (let i = 1; i <= n; i++) addStaff(u, role, i, u.code);

  const bodies: DisciplineBodyRow[] = [
    { id: rng.uuid(), name: '区纪委监委', name_en: 'District Commission for Discipline Inspection', kind: 'district_commission', email: 'district-cdi@bench.invalid', authority: JSON.stringify({ accusedRoles: ['official', 'caseworker', 'cadre'], unitIds: [] }), created_at: historyStart },
    { id: rng.uuid(), name: '区纪委监委派驻区民政局纪检监察组', name_en: 'Stationed discipline group at the bureau', kind: 'stationed_group', email: 'stationed-group@bench.invalid', authority: JSON.stringify({ accusedRoles: ['official', 'caseworker'], unitIds: [root.id] }), created_at: historyStart },
    ...level2
      .filter((u) => u.kind === 'town')
      .map((u) => ({ id: rng.uuid(), name: `${u.name}纪委`, name_en: `${u.name_en} discipline commission`, kind: 'town_commission', email: `${u.code}-cdi@bench.invalid`, authority: JSON.stringify({ accusedRoles: ['cadre'], unitIds: [u.id] }), created_at: historyStart })),
  ];
  for (const b of bodies) for (let i = 1; i <= STAFF.perDisciplineBody.discipline_officer; i++) addStaff(root, 'discipline_officer', i, `body${bodies.indexOf(b) + 1}`, b.id);

  const admin = staff.find((s) => s.role === 'admin')!;
  const registry: NearRelativeRow[] = [];
  const register = (registrant: { name: string; staffId: string | null; unit: Unit; role: string }) => {
    const id = rng.uuid();
    const birth = new Date(Date.UTC(rng.int(1940, 2012), rng.int(0, 11), rng.int(1, 28)));
    const first17 = `310107${birth.toISOString().slice(0, 10).replace(/-/g, '')}${rng.digits(3)}`;
    const idNumber = first17 + idCheckCharacter(first17);
    const relative = personName(rng);
    registry.push({
      id,
      registrant_name: registrant.name,
      registrant_name_key: nameKey(registrant.name),
      registrant_staff_id: registrant.staffId,
      registrant_unit_id: registrant.unit.id,
      registrant_role: registrant.role,
      relative_name: relative,
      relative_name_key: nameKey(relative),
      relation: rng.pick(['spouse', 'parent', 'child', 'sibling', 'grandparent', 'in_law', 'other']),
      id_box: seal(keys.reporterKey, idNumber, id, rng.bytes(12)),
      id_hash: idNumberHash(keys.secretHmacKey, idNumber),
      programme: rng.weighted({ dibao: 80, extreme_poverty: 15, other: 5 }),
      since: dateBefore(rng.int(30, 3000)),
      household_address: rng.chance(0.7) ? `${registrant.unit.name}${rng.int(1, 300)}号` : null,
      created_at: new Date(historyStart.getTime() + rng.int(0, 300) * 86_400_000),
      created_by: admin.id,
    });
  };
  for (const s of staff) {
    if (s.role === 'discipline_officer' || !rng.chance(REGISTRY.perStaff)) continue;
    register({ name: s.display_name, staffId: s.id, unit: units.get(s.unit_id)!, role: s.role === 'caseworker' ? 'caseworker' : 'civil_affairs_staff' });
  }
  for (const c of committees) for (let i = 0; i < REGISTRY.perCommittee; i++) register({ name: personName(rng), staffId: null, unit: c, role: 'cadre' });
  registry.sort((a, b) => a.created_at.getTime() - b.created_at.getTime());

  return {
    root,
    level2,
    committees,
    units,
    staff,
    bodies,
    registry,
    byRole: (unit, role) => unit.staff.filter((s) => s.role === role),
  };
}
