// ESLint for every TypeScript and Svelte file, with type information from the realm's tsconfig,
// so that a promise nobody awaits or handles is an error (no-floating-promises): in a trainer an
// unhandled rejection is a run that stops without saying why.
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';

export default ts.config(
  { ignores: ['dist/', 'node_modules/', 'tests/e2e/artifacts/', 'eslint.config.js', 'workers/kernels/assembly/'] },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.browser, ...globals.node, ...globals.worker },
      parserOptions: {
        // Each file is checked in its realm: the first of these that includes it.
        project: [
          './tsconfig.json',
          './workers/tsconfig.json',
          './tsconfig.node.json',
          './tests/e2e/tsconfig.json',
          './tests/unit/page/tsconfig.json',
        ],
        tsconfigRootDir: import.meta.dirname,
        extraFileExtensions: ['.svelte'],
      },
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser } },
  },
  {
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      // It flags every Set and Date in a .svelte.ts file, also the ones made for a count or a
      // timestamp and dropped; what the page reads is in $state fields.
      'svelte/prefer-svelte-reactivity': 'off',
      // `_` names what a destructuring leaves out on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
);
