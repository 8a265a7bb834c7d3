/**
 * The architecture check run by `npm run lint` (README "Architecture"): dependency-cruiser with the
 * rules of .dependency-cruiser.cjs (file loops, src/app/ as infrastructure, use cases without hono,
 * roots on top), plus the loop rule between feature modules, which dependency-cruiser cannot say
 * alone: its folder-scoped rules see every import, and entity files may refer to each other's
 * classes for relations (the one loop allowed). So the module graph is built here from the cruise,
 * entity-to-entity imports left out, and its loops are reported like the other violations.
 *
 *   node tools/architecture.ts            the tree (src/, queues/)
 *   node tools/architecture.ts DIR        another tree laid out the same way (test/architecture.test.ts)
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { cruise, type ICruiseOptions, type ICruiseResult, type IModule } from 'dependency-cruiser';

const require = createRequire(import.meta.url);
const ruleFile = resolve(import.meta.dirname, '../.dependency-cruiser.cjs');

/** Module-level imports known to close a loop, to be removed (README "Architecture": what is not yet one-way). */
export const knownModuleBackEdges: readonly string[] = require(ruleFile).knownModuleBackEdges ?? [];

const moduleOf = (path: string): string | null => /^src\/modules\/([^/]+)\//.exec(path)?.[1] ?? null;
const isEntity = (path: string) => path.endsWith('.entity.ts');

/** Feature-module loops: strongly connected sets of modules, entity-to-entity imports and known back edges left out. */
export function moduleLoops(modules: IModule[], known: readonly string[] = knownModuleBackEdges): { loop: string[]; via: string[] }[] {
  const edges = new Map<string, Map<string, string>>();
  for (const m of modules) {
    const from = moduleOf(m.source);
    if (!from) continue;
    for (const d of m.dependencies) {
      const to = moduleOf(d.resolved);
      if (!to || to === from || (isEntity(m.source) && isEntity(d.resolved))) continue;
      if (known.includes(`${from} → ${to}`)) continue;
      const out = edges.get(from) ?? new Map<string, string>();
      if (!out.has(to)) out.set(to, `${m.source} → ${d.resolved}`);
      edges.set(from, out);
    }
  }
  // Tarjan's strongly connected components (a few dozen nodes: recursion is fine).
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: { loop: string[]; via: string[] }[] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) {
        const members = new Set(scc);
        const via = scc.flatMap((a) => [...(edges.get(a) ?? [])].filter(([b]) => members.has(b)).map(([b, file]) => `${a} → ${b} (${file})`));
        loops.push({ loop: scc.sort(), via: via.sort() });
      }
    }
  };
  for (const v of [...edges.keys()].sort()) if (!idx.has(v)) visit(v);
  return loops;
}

/** Every violation in the tree under `baseDir` (default: this repository), one line each. */
export async function checkArchitecture(baseDir = resolve(import.meta.dirname, '..'), known: readonly string[] = knownModuleBackEdges): Promise<string[]> {
  const { forbidden, options } = require(ruleFile) as { forbidden: ICruiseOptions['ruleSet'] extends infer R ? R extends { forbidden?: infer F } ? F : never : never; options: ICruiseOptions };
  const cwd = process.cwd();
  // dependency-cruiser resolves paths (and names modules) from the working directory.
  process.chdir(baseDir);
  let result: ICruiseResult;
  try {
    const roots = ['src', 'queues'].filter((d) => require('node:fs').existsSync(resolve(baseDir, d)));
    const reported = await cruise(roots, { ...options, ruleSet: { forbidden }, validate: true, tsConfig: undefined });
    result = reported.output as ICruiseResult;
  } finally {
    process.chdir(cwd);
  }
  const lines = (result.summary.violations ?? []).map((v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (loop: ${v.cycle.map((c) => c.name).join(' → ')})` : ''}`);
  for (const { loop, via } of moduleLoops(result.modules, known)) lines.push(`no-module-loops: ${loop.join(' ⇄ ')}\n    ${via.join('\n    ')}`);
  return lines;
}

if (import.meta.main) {
  const problems = await checkArchitecture(process.argv[2] ? resolve(process.argv[2]) : undefined);
  if (problems.length) {
    console.error(`architecture: ${problems.length} violation(s) (README "Architecture", .dependency-cruiser.cjs)\n${problems.map((p) => `  ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log('architecture: no violations (file loops, module loops, src/app/ infrastructure, use cases without hono, roots on top)');
}
