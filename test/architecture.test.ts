import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkArchitecture } from '../tools/architecture.ts';

/** A small tree laid out like this one, written to a temporary folder. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'architecture-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  made.push(dir);
  return dir;
}
const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

const oneWay = {
  'src/app/errors.ts': 'export const oops = 1;\n',
  'src/modules/a/a.entity.ts': "import type { B } from '../b/b.entity.ts';\nexport class A { b?: B; }\n",
  'src/modules/b/b.entity.ts': "import type { A } from '../a/a.entity.ts';\nexport class B { a?: A; }\n",
  'src/modules/a/a.usecases.ts': "import { oops } from '../../app/errors.ts';\nimport type { A } from './a.entity.ts';\nexport const useA = (a: A) => [a, oops];\n",
  'src/modules/b/b.usecases.ts': "import { useA } from '../a/a.usecases.ts';\nexport const useB = () => useA({});\n",
  'src/modules/b/b.routes.ts': "import { useB } from './b.usecases.ts';\nexport const routes = () => useB();\n",
  'src/roots/server.ts': "import { routes } from '../modules/b/b.routes.ts';\nexport const server = () => routes();\n",
};

describe('the architecture check (npm run lint)', () => {
  it('passes this repository', { timeout: 120_000 }, async () => {
    expect(await checkArchitecture()).toEqual([]);
  });

  it('passes a one-way tree whose entity files refer to each other (the one loop allowed)', async () => {
    expect(await checkArchitecture(tree(oneWay), [])).toEqual([]);
  });

  it('refuses a deliberately added loop, between files and between modules', async () => {
    const problems = await checkArchitecture(tree({ ...oneWay, 'src/modules/a/a.usecases.ts': "import { useB } from '../b/b.usecases.ts';\nexport const useA = () => useB;\n" }), []);
    expect(problems.some((p) => p.startsWith('no-file-loops: src/modules/a/a.usecases.ts → src/modules/b/b.usecases.ts'))).toBe(true);
    expect(problems).toContain('no-module-loops: a ⇄ b\n    a → b (src/modules/a/a.usecases.ts → src/modules/b/b.usecases.ts)\n    b → a (src/modules/b/b.usecases.ts → src/modules/a/a.usecases.ts)');
  });

  it('refuses a module loop made of files that are not a file loop, unless its back edge is listed as known', async () => {
    const files = { ...oneWay, 'src/modules/a/a.helpers.ts': "import { useB } from '../b/b.usecases.ts';\nexport const h = () => useB;\n" };
    const dir = tree(files);
    expect(await checkArchitecture(dir, [])).toEqual([expect.stringMatching(/^no-module-loops: a ⇄ b\n/)]);
    expect(await checkArchitecture(dir, ['a → b'])).toEqual([]);
  });

  it('refuses src/app/ importing a feature, a use case importing hono, and a route importing a root', async () => {
    const problems = await checkArchitecture(
      tree({
        ...oneWay,
        'src/app/errors.ts': "import type { A } from '../modules/a/a.entity.ts';\nexport const oops = 1 as unknown as A;\n",
        'src/modules/b/b.usecases.ts': "import { Hono } from 'hono';\nimport { useA } from '../a/a.usecases.ts';\nexport const useB = () => [useA({}), Hono];\n",
        'src/modules/b/b.routes.ts': "import type { server } from '../../roots/server.ts';\nimport { useB } from './b.usecases.ts';\nexport const routes = (s?: typeof server) => [useB(), s];\n",
      }),
      [],
    );
    const rules = new Set(problems.map((p) => p.split(':')[0]));
    expect(rules).toEqual(new Set(['app-is-infrastructure', 'use-cases-without-hono', 'roots-on-top', 'no-file-loops']));
    expect(problems).toContain('app-is-infrastructure: src/app/errors.ts → src/modules/a/a.entity.ts');
    expect(problems).toContain('roots-on-top: src/modules/b/b.routes.ts → src/roots/server.ts');
    expect(problems.find((p) => p.startsWith('use-cases-without-hono'))).toMatch(/^use-cases-without-hono: src\/modules\/b\/b.usecases.ts → (hono|.*node_modules\/hono\/)/);
  });
});
