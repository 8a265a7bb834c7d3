/**
 * A full collection, asked for after bulk work (a clue ledger export of up to 10⁶ rows): V8 keeps the
 * garbage of such work until the old generation reaches its next limit, so a second export started
 * from the first one's slack (256–266 MB of RSS after a CSV, 296–321 MB at the peak of the XLSX that
 * followed, against a bound of 300: bench/README "reports"). Synchronous: asked for as a task of its
 * own it came too late for an export that follows at once (XLSX peak 293 MB; synchronous 282). It runs
 * after the export's last byte went out, once an export and only for a large one (clue-export.ts
 * `BULK_ROWS`): a pause of tens of milliseconds. Only where node runs with `--expose-gc`, as `src/start.mjs` starts
 * `serve`, `work` and `all`; elsewhere (tests, an operator's own flags) it does nothing.
 */
export function collectAfterBulkWork(): void {
  const gc = (globalThis as { gc?: (options?: { type: 'major' | 'minor'; execution: 'sync' | 'async' }) => unknown }).gc;
  gc?.({ type: 'major', execution: 'sync' });
}
