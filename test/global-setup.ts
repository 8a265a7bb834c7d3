import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { migrate } from '../src/app/db.ts';
import { createOrm } from '../src/roots/orm.ts';
import { createLogger } from '../src/app/logger.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}

/**
 * On the PGlite leg (TEST_DATABASE=pglite): one migrated PGlite folder for the run. A new PGlite
 * folder costs seconds (initdb in WebAssembly); a copy of this one opens in a fraction of that.
 */
export default async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE !== 'pglite') return;
  const dir = mkdtempSync(join(tmpdir(), 'dibao-pglite-template-'));
  const logger = createLogger('silent');
  const orm = await createOrm({ DATABASE_URL: undefined, DATA_DIR: dir, DATABASE_POOL_MAX: 1, DATABASE_ACQUIRE_TIMEOUT_MS: 60_000 }, logger);
  await migrate(orm, logger);
  await orm.close(true);
  project.provide('pgliteTemplate', join(dir, 'pglite'));
  return () => rmSync(dir, { recursive: true, force: true });
}
