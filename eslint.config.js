import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', '.ci/', '.node/', '.scratch/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    // The citizen pages' and the staff console's scripts run in the browser (web.assets.ts, console.assets.ts).
    files: ['src/modules/intake-web/assets/*.js', 'src/modules/staff-console/assets/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { document: 'readonly', window: 'readonly', XMLHttpRequest: 'readonly', HTMLFormElement: 'readonly', FormData: 'readonly', Headers: 'readonly', Response: 'readonly', DOMException: 'readonly' },
    },
  },
  {
    files: ['test/**', '**/*.test.ts', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
