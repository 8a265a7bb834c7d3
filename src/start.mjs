/* global process, console */
// The npm scripts' entry: plain JavaScript, so any Node.js can read it. Node 20 cannot even load
// main.ts (it strips no TypeScript: ERR_UNKNOWN_FILE_EXTENSION), so the version is checked first
// and the user told in one line what to install.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(`需要 Node.js 24 或更新版本（当前 ${process.version}）/ Node.js 24 or newer is needed (this is ${process.version}): install it from https://nodejs.org/ or with \`nvm install 24\`.`);
  process.exit(1);
}

// The long-running roles run with a bounded heap (bench/README "reports"). V8 sizes its young
// generation by the machine's memory (128 MB committed at start on a 24 GB machine) and lets the old
// generation grow to several times what is live before it collects: `serve` idled at ~250 MB and an
// export took it past 400 MB with ~60 MB live (back to 59 MB after a forced collection: slack, not
// a leak). Once the export ran at 47 000 rows/s (time-ordered clue ids), a 16 MB semi-space and a
// 60 % growth step let a CSV then an XLSX of 10⁶ rows reach 299 and 331 MB; an 8 MB semi-space, a
// 40 % step and two malloc arenas (glibc makes one per thread by default, each keeping what it freed)
// keep them at 256 and 296 MB, for ~17 % more CPU in the exports (CSV 47 000 → 39 000 rows/s, XLSX
// 19 900 → 16 700; targets 20 000 and 5 000). The flags must be given to node itself (V8 reads them
// when the heap is made, glibc reads MALLOC_ARENA_MAX when the process starts), so the process
// re-executes itself with them, same pid; flags of the operator's own (on the command line or in
// NODE_OPTIONS) are left as they are, as is a MALLOC_ARENA_MAX of their own.
// `--expose-gc`: a finished export asks for a full collection (src/app/memory.ts), so the next one
// starts from what is live rather than from the last one's slack.
const V8_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=40', '--expose-gc'];
const role = process.argv[2] ?? 'all';
const given = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
if (['serve', 'work', 'all'].includes(role) && typeof process.execve === 'function' && !/--(max-semi-space-size|heap-growing-percent)\b/.test(given)) {
  const { fileURLToPath } = await import('node:url');
  const script = fileURLToPath(import.meta.url);
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...V8_FLAGS, script, ...process.argv.slice(2)], { MALLOC_ARENA_MAX: '2', ...process.env });
}
await import('./main.ts');
