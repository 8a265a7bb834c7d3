/**
 * `npm run bench:data -- --clues N [--seed S] [--database postgres://…/name] [--cached]`
 *
 * With `--database`: builds the data set into that database (created fresh: migrated, filled,
 * analysed). With `--cached` as well, clones it from the template cache instead (building the
 * template first if there is none for the current generator and migrations). Without `--database`:
 * only makes sure the cached template exists (what `npm run bench -- staff-reads` would build).
 * N is a number (`100000`, `1e6`) or a preset name (`1e5`, `1e6`).
 */
import { parseArgs } from 'node:util';
import { buildDataset, databaseName, type BuildResult } from './build.ts';
import { cloneDataset, ensureTemplate } from './cache.ts';
import { parseClues } from './shape.ts';

const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

function report(r: BuildResult) {
  console.log(`data set: ${r.clues.toLocaleString('en')} clues, seed ${r.seed}, in database ${r.database}`);
  console.log(`time: ${r.seconds.total} s (migrate ${r.seconds.migrate}, generate + COPY ${r.seconds.generate}, indexes + keys ${r.seconds.indexes}, analyze ${r.seconds.analyze})`);
  console.log(`size: ${mib(r.bytes)}; ${r.checkpoints} ledger checkpoints`);
  const total = Object.values(r.statuses).reduce((a, b) => a + b, 0);
  console.log(`statuses: ${Object.entries(r.statuses).sort((a, b) => b[1] - a[1]).map(([s, n]) => `${s} ${((100 * n) / total).toFixed(1)}%`).join(', ')}`);
  for (const t of r.tables) if (t.rows > 0 || t.bytes > 64 * 1024) console.log(`  ${t.table.padEnd(20)} ${t.rows.toLocaleString('en').padStart(12)} rows  ${mib(t.bytes).padStart(9)}`);
}

async function main() {
  const { values } = parseArgs({
    options: { clues: { type: 'string' }, seed: { type: 'string', default: '1' }, database: { type: 'string' }, cached: { type: 'boolean', default: false } },
  });
  if (!values.clues) throw new Error('usage: npm run bench:data -- --clues N [--seed S] [--database postgres://…/name] [--cached]');
  const clues = parseClues(values.clues);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a whole number (got ${values.seed})`);
  if (!values.database) {
    const { name, built } = await ensureTemplate(ADMIN_URL, { clues, seed });
    if (built) report(built);
    console.log(`cached template: ${name}${built ? '' : ' (already built)'}`);
    return;
  }
  if (values.cached) {
    const target = databaseName(values.database);
    const r = await cloneDataset(new URL('/postgres', values.database).toString(), target, { clues, seed });
    if (r.built) report(r.built);
    console.log(`cloned ${r.template} into ${target} in ${r.cloneSeconds} s`);
    return;
  }
  report(await buildDataset(values.database, { clues, seed }));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench:data failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
