import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;

/** An older Node.js on this machine (Debian's is 20), to run the npm scripts as its users would. */
async function oldNode(): Promise<string | null> {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    const version = await run(candidate, ['-p', 'process.versions.node']).then((r) => r.stdout.trim(), () => null);
    if (version && Number(version.split('.')[0]) < 24) return candidate;
  }
  return null;
}
const old = await oldNode();

describe('Node.js version', () => {
  it('every npm script that runs the app goes through the version check', () => {
    for (const name of ['start', 'serve', 'work', 'migrate', 'verify-ledger', 'seed']) expect(scripts[name]).toMatch(/^node src\/start\.mjs \S+$/);
  });

  // Skipped when the machine has no Node.js older than 24 to try it with.
  it.skipIf(!old)('npm start on an older Node.js says in one line what to install, and exits 1', async () => {
    const [, entry, role] = scripts.start!.split(' ');
    const result = await run(old!, [entry!, role!], { env: { ...process.env, DATA_DIR: '/nonexistent' } }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Node\.js 24 or newer is needed \(this is v\d+\.\d+\.\d+\)/);
    expect(lines[0]).toContain('需要 Node.js 24');
  });
});
