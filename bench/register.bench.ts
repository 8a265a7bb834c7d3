/**
 * Registering a clue (POST /api/v1/staff/clues) through the whole app — auth lookup, zod
 * validation, AES-GCM sealing of a named reporter, the hash-chained ledger event and the outbox
 * row in one transaction, then the relay moving the job to BullMQ — against a baseline that does
 * one plain INSERT per request on the same database.
 *
 * Targets: full path >= 50% of baseline throughput, and full-path p99 < 50 ms.
 */
import { randomUUID } from 'node:crypto';
import { startBaseline } from './lib/baseline.ts';
import { drainOutbox, preflight } from './lib/checks.ts';
import { type LoadSpec, runLoad } from './lib/load.ts';
import { alternate, roundSummary } from './lib/rounds.ts';
import { type Benchmark, startFullApp } from './lib/setup.ts';

const MIN_THROUGHPUT_RATIO = 0.5;
const MAX_P99_MS = 50;

/** A letter as an operator would key it in: ~300 characters of narrative, one accused, a named reporter. */
const NARRATIVE =
  '本人系长风一村居民，现实名反映本社区低保审批中存在的优亲厚友问题。居委会干部王某某利用负责低保初审的职务便利，' +
  '于今年三月将其妻弟张某某一家三口违规纳入最低生活保障范围。据我了解，张某某名下有一套位于本区的商品住房，另有一辆小型轿车，' +
  '本人在一家物流公司当驾驶员，月收入在六千元以上，其配偶在超市上班，家庭人均收入明显高于本市低保标准。' +
  '入户调查时，王某某事先通知张某某把车辆停到别处，并在家庭经济状况核对表上隐瞒了房产和工资收入。' +
  '民主评议会议没有按规定召开，公示名单只在公告栏张贴了两天就被撕掉。与此同时，同楼栋独居的残疾老人刘某某多次申请都被以材料不全为由退回。' +
  '群众对此意见很大，希望有关部门认真核查，依法依规处理，并对举报人信息予以保密。';

function clueBody(unitId: string): string {
  return JSON.stringify({
    channel: 'letter',
    categories: ['favor_enrolment'],
    narrative: NARRATIVE,
    unitId,
    accused: [{ name: '王某某', role: 'cadre', unitId, position: '居委会委员' }],
    reporter: { name: '李秀英', phone: '13812345678' },
  });
}

export const registerBenchmark: Benchmark = {
  name: 'register',
  description: 'POST /api/v1/staff/clues (named letter, ~300 chars) vs one plain INSERT',
  async run({ db, settings, signal }) {
    const app = await startFullApp(db);
    const baseline = await startBaseline(db).catch(async (err) => {
      await app.close();
      throw err;
    });
    try {
      const district = await app.deps.staff.seedUnit({ code: 'bench-district', name: '普陀区', kind: 'district' });
      const password = `pw-${randomUUID()}`;
      await app.deps.staff.seedStaff({ username: 'bench-operator', displayName: '接访员', password, role: 'operator', unitId: district.id });
      const { token } = await app.deps.staff.login({ username: 'bench-operator', password });

      const body = clueBody(district.id);
      const common = { method: 'POST', body, expectStatus: 201, timeoutMs: 10_000, database: db.name, ...settings };
      const baselineSpec: LoadSpec = { ...common, url: baseline.url, headers: { 'content-type': 'application/json' } };
      const fullSpec: LoadSpec = {
        ...common,
        url: `${app.url}/api/v1/staff/clues`,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      };
      await preflight(baselineSpec);
      await preflight(fullSpec);
      const groupCommits: Record<string, number>[] = [];

      // One after the other, never together: each gets the whole machine; alternating rounds.
      const { median, all } = await alternate(settings.rounds, {
        baseline: () => runLoad(baselineSpec, signal),
        app: async () => {
          const before = app.deps.clues.registrationStats();
          const result = await runLoad(fullSpec, signal);
          const after = app.deps.clues.registrationStats();
          const batches = after.batches - before.batches;
          groupCommits.push({
            statements: batches,
            registrations: after.items - before.items,
            meanPerStatement: Math.round(((after.items - before.items) / batches) * 10) / 10,
            largest: after.largestBatch,
            meanStatementMs: Math.round(((after.writeMs - before.writeMs) / batches) * 100) / 100,
          });
          return result;
        },
        afterApp: () => drainOutbox(app, signal),
      });
      const base = median.baseline;
      const full = median.app;
      const outbox = median.extra;
      const ratio = median.ratio;
      const groupCommit = groupCommits[all.indexOf(median)];
      return {
        results: { baseline: base, full },
        derived: { throughputRatio: Math.round(ratio * 1000) / 1000 },
        targets: [
          {
            name: `full throughput >= ${MIN_THROUGHPUT_RATIO * 100}% of baseline`,
            ok: ratio >= MIN_THROUGHPUT_RATIO,
            detail: `${(ratio * 100).toFixed(1)}% (${full.requestsPerSecond} vs ${base.requestsPerSecond} req/s)`,
          },
          {
            name: `full p99 < ${MAX_P99_MS} ms at ${settings.connections} connections`,
            ok: full.latencyMs.p99 < MAX_P99_MS,
            detail: `p99 ${full.latencyMs.p99} ms`,
          },
        ],
        notes: { ...outbox, groupCommit, rounds: all.map(roundSummary), narrativeChars: [...NARRATIVE].length, bodyBytes: Buffer.byteLength(body) },
      };
    } finally {
      await baseline.close().finally(() => app.close());
    }
  },
};
