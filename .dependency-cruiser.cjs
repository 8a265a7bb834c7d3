/* global module */
/**
 * The house's one-way rules (README "Architecture"), checked by `npm run lint`:
 *   src/main.ts, src/roots/  → wire everything (composition roots)
 *   queues/*.processor.ts    → thin processors calling use cases
 *   src/modules/<feature>/   → features: routes → use cases → repositories/entities
 *   src/app/, queues/ infra  → infrastructure: names no feature, no root, no processor
 * Type-only imports count (tsPreCompilationDeps): a loop through types is still a loop for a reader.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  // The loop rule between feature modules is tools/architecture.ts (it leaves out entity-to-entity imports).
  // Module edges tolerated although they close a loop: none (staff's audit and exclusion recompute are wired by the roots).
  knownModuleBackEdges: [],
  forbidden: [
    {
      name: 'no-file-loops',
      comment: 'A loop between files. Entity files may refer to each other for relations (the one loop allowed).',
      severity: 'error',
      from: {},
      to: { circular: true, via: { pathNot: '\\.entity\\.ts$' } },
    },
    {
      name: 'app-is-infrastructure',
      comment: 'src/app/ is the ground every module stands on: it imports no feature module, no root and no processor.',
      severity: 'error',
      from: { path: '^src/app/' },
      to: { path: ['^src/modules/', '^src/roots/', '^src/main\\.ts$', '^queues/[^/]*\\.processor\\.ts$'] },
    },
    {
      name: 'queue-infrastructure',
      comment: 'queues/connection.ts and queues/names.ts are infrastructure like src/app/: no feature, no root.',
      severity: 'error',
      from: { path: '^queues/', pathNot: '\\.processor\\.ts$' },
      to: { path: ['^src/modules/', '^src/roots/', '^src/main\\.ts$', '^queues/[^/]*\\.processor\\.ts$'] },
    },
    {
      name: 'use-cases-without-hono',
      comment: 'Use cases never import hono: handlers turn requests into typed inputs and call them.',
      severity: 'error',
      from: { path: '\\.usecases\\.ts$' },
      to: { path: ['(^|/)node_modules/(hono|@hono)/', '^(hono|@hono/[^/]+)(/|$)'] },
    },
    {
      name: 'roots-on-top',
      comment: 'Only src/main.ts and other roots import a root: a route, use case or processor never does.',
      severity: 'error',
      from: { pathNot: ['^src/roots/', '^src/main\\.ts$', '^test/', '^bench/'] },
      to: { path: '^src/roots/' },
    },
    {
      name: 'processors-wired-by-roots',
      comment: 'Processors are wired by the roots only (src/roots/processors.ts).',
      severity: 'error',
      from: { pathNot: ['^src/roots/', '^queues/[^/]*\\.processor\\.ts$', '^test/', '^bench/'] },
      to: { path: '^queues/[^/]*\\.processor\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['\\.test\\.ts$', '(^|/)assets/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6', 'cjs'],
    reporterOptions: { text: { highlightFocused: true } },
  },
};
