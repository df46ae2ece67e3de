import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Allows only imports whose specifier matches one of `allowed` (regexes); type-only imports are free. */
const onlyImports = (allowed, message) => [
  'error',
  { patterns: [{ regex: `^(?!(${allowed.join('|')})).*`, allowTypeImports: true, message }] },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'web/dist/', '.data/', 'web/**/*.vue'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,js}'],
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  { files: ['web/src/**/*.ts'], languageOptions: { globals: globals.browser } },
  {
    files: ['workflows/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': onlyImports(
        ['@temporalio/workflow$', '@temporalio/common$', '\\./', '\\.\\./domain/'],
        'Workflows run in the deterministic sandbox: only @temporalio/workflow, @temporalio/common and domain/ (types may come from anywhere).',
      ),
    },
  },
  {
    files: ['domain/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': onlyImports(
        ['zod$', 'luxon$', '@casl/ability$', '\\./'],
        'domain/ is pure and shared with workflows and the web app: no Node, ORM, Express or Vue.',
      ),
    },
  },
);
