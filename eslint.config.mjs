// ESLint flat config: `npm run lint` (zero warnings). Type-aware rules from typescript-eslint
// use the tsconfig nearest each file (tsconfig.json for src/ and bench/, test/tsconfig.json
// for test/).
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import unicorn from 'eslint-plugin-unicorn';
import tseslint from 'typescript-eslint';
import recsys from './tools/eslint/worker-boundary.mjs';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Worker-side code: everything a piscina worker loads (src/engine/worker/index.ts and its
 * import closure), plus the folder the artifact-type modules will live in. Staging (moving
 * files into the artifact area) runs on the main thread.
 */
export const WORKER_SIDE = [
  'src/engine/worker/**',
  'src/engine/artifact-types/**',
  'src/kernels/**',
  'src/io/parse/**',
  'src/io/canonical/**',
  'src/io/artifacts/**',
  'src/engine/threads/messages.ts',
  'src/engine/threads/shared-memory.ts',
  'src/io/atomic.ts',
];
export const WORKER_SIDE_EXCEPT = ['src/io/artifacts/staging.ts'];

/** What worker-side code may never import (folders, or one module), and why. */
const MAIN_THREAD_ONLY = [
  { path: 'src/io/store', reason: 'the object store and registry (S3 and filesystem) run on the main thread; uploads stay there' },
  { path: 'src/io/postgres', reason: 'Postgres code runs on the main thread' },
  { path: 'src/io/sources', reason: 'raw sources (fs, S3, Postgres) are read on the main thread' },
  { path: 'src/engine/pipeline', reason: 'the day loop drives the pool from the main thread' },
  { path: 'src/engine/ops', reason: 'rollback, status and dry-run are main-thread commands' },
  { path: 'src/engine/threads/pool', reason: 'the pool lives on the main thread' },
  { path: 'src/cli', reason: 'the CLI is the main thread entry point' },
];

export default defineConfig(
  {
    ignores: ['dist/**', 'node_modules/**', '.out/**', '.bench/**', '.scratch/**', 'coverage/**', 'testdata/**', 'test/fixtures/**'],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.mts', 'vitest.long.config.mts'] },
        tsconfigRootDir: root,
      },
    },
    plugins: { unicorn },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'separate-type-imports' }],
      'unicorn/prefer-node-protocol': 'error',
      // As tsc's noUnusedLocals: `const { drop: _drop, ...rest } = x` omits a key on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // Off: the Go-compatible JSON writer and the id/CSV validators match U+0000..U+001F on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Off in tests: they read what the code under test wrote (JSON.parse → any) and hand it
      // to expect(), which is the check; typing every parsed blob would only restate it.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // Off in tests: fakes of async interfaces (a lock site, an id table) answer at once.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // apache-arrow's Table and its columns are typed Data<any> all the way down: the codec
    // checks every column's type at run time (badInput naming the column) instead.
    files: ['src/io/canonical/arrow-codec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    // Plain JavaScript (bin/, the fs-faults preload, this file) and the vitest configs: no type information.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs', 'vitest*.mts'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-require-imports': 'off', // CommonJS files
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs' }, // package.json "type": "commonjs"
  },
  {
    files: WORKER_SIDE,
    ignores: WORKER_SIDE_EXCEPT,
    plugins: { recsys },
    rules: {
      'recsys/worker-boundary': ['error', { root, forbidden: MAIN_THREAD_ONLY }],
    },
  },
);
