/**
 * `npm run bench [name…]`: runs the named benchmarks (all but the data-scale ones when none are
 * named; those work on the cached data set of bench/data) against a fresh
 * PostgreSQL database that is dropped afterwards, prints the figures and writes them to
 * bench/results/latest.json. Missing a target is a result, not a failure: the exit code is
 * non-zero only when the harness itself fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { formatResult } from './lib/load.ts';
import { type BenchOutcome, type Benchmark, createBenchDatabase, settingsFromEnv } from './lib/setup.ts';
import { deadlinesBenchmark } from './deadlines.bench.ts';
import { exclusionBenchmark } from './exclusion.bench.ts';
import { registerBenchmark } from './register.bench.ts';
import { reportsBenchmark } from './reports.bench.ts';
import { reportBenchmark } from './report.bench.ts';
import { smtpBenchmark } from './smtp.bench.ts';
import { staffReadsBenchmark } from './staff-reads.bench.ts';
import { consoleBenchmark } from './console.bench.ts';
import { voiceBenchmark } from './voice.bench.ts';

/** Aborted on Ctrl-C / SIGTERM (see `main`). */
const interrupt = new AbortController();

/** Add new benchmarks here. */
const benchmarks: Benchmark[] = [registerBenchmark, reportBenchmark, voiceBenchmark, smtpBenchmark, deadlinesBenchmark, staffReadsBenchmark, exclusionBenchmark, reportsBenchmark, consoleBenchmark];

async function main(names: string[]) {
  const unknown = names.filter((n) => !benchmarks.some((b) => b.name === n));
  if (unknown.length) throw new Error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}`);
  const selected = names.length ? benchmarks.filter((b) => names.includes(b.name)) : benchmarks.filter((b) => !b.scale);
  const settings = settingsFromEnv();

  const db = await createBenchDatabase();
  // Ctrl-C stops the load and unwinds through every `finally`, so no database, Redis keys or
  // servers are left behind. A second signal, or a cleanup that hangs, exits at once.
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) process.exit(130);
    console.error(`\n${signal}: stopping and cleaning up…`);
    interrupt.abort(new Error(`interrupted by ${signal}`));
    setTimeout(() => process.exit(130), 15_000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const outcomes: Record<string, BenchOutcome> = {};
  try {
    for (const bench of selected) {
      console.log(
        `\n▶ ${bench.name}: ${bench.description}\n  ${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.seconds} s measured per endpoint`,
      );
      const outcome = await bench.run({ db, settings, signal: interrupt.signal });
      outcomes[bench.name] = outcome;
      for (const [label, r] of Object.entries(outcome.results)) console.log(`  ${formatResult(label, r)}`);
      for (const [k, v] of Object.entries(outcome.derived)) console.log(`  ${k}: ${v}`);
      for (const t of outcome.targets) console.log(`  ${t.ok ? 'PASS' : 'MISS'}  ${t.name}: ${t.detail}`);
      if (outcome.notes) console.log(`  notes: ${JSON.stringify(outcome.notes)}`);
    }
  } finally {
    await db.drop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL('latest.json', dir);
  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
  writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), machine, settings, benchmarks: outcomes }, null, 2)}\n`);
  console.log(`\nresults written to ${file.pathname}`);
}

main(process.argv.slice(2)).then(
  // Force the exit: a stray keep-alive socket or timer must not hold the process open.
  () => process.exit(0),
  (err) => {
    if (interrupt.signal.aborted) {
      console.error('interrupted; cleaned up');
      process.exit(130);
    }
    console.error('benchmark harness failed:', err);
    process.exit(1);
  },
);
