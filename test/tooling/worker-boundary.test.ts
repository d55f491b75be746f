/**
 * The worker boundary (eslint.config.mjs, tools/eslint/worker-boundary.mjs): worker-side
 * code never imports the store, Postgres, raw-source, pipeline, ops, pool or CLI modules.
 * Lints snippets as if they were files at the given paths, with the project's own config.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/helpers';

const RULE = 'recsys/worker-boundary';

// Only the boundary rule runs, and without type information: it needs none, and the
// project service would load the whole program for each snippet.
const eslint = new ESLint({
  cwd: REPO_ROOT,
  ruleFilter: ({ ruleId }) => ruleId === RULE,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
});

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  const messages = result?.messages ?? [];
  expect(messages.filter((m) => m.ruleId !== RULE)).toEqual([]); // no parse error hides a miss
  return messages.map((m) => m.message);
}

describe('worker-side code may not import main-thread-only modules', () => {
  it.each([
    ['src/engine/worker/x.ts', "import { FsRegistry } from '../../io/store/registry';", 'src/io/store/registry'],
    ['src/engine/worker/x.ts', "import { S3Bucket } from '../../io/store/s3/bucket';", 'src/io/store/s3/bucket'],
    ['src/io/parse/x.ts', "import { openStore } from '../store/open';", 'src/io/store/open'],
    ['src/io/parse/x.ts', "import * as store from '../store';", 'src/io/store'],
    ['src/io/canonical/x.ts', "import { connect } from '../postgres/client';", 'src/io/postgres/client'],
    ['src/io/artifacts/x.ts', "export { readRawDay } from '../sources/raw-day';", 'src/io/sources/raw-day'],
    ['src/kernels/x.ts', "import { runPipeline } from '../engine/pipeline/run';", 'src/engine/pipeline/run'],
    ['src/engine/threads/messages.ts', "import { WorkerPool } from './pool';", 'src/engine/threads/pool'],
    ['src/engine/threads/shared-memory.ts', "import { rollback } from '../ops/rollback';", 'src/engine/ops/rollback'],
    ['src/io/atomic.ts', "import { main } from '../cli/main';", 'src/cli/main'],
    ['src/engine/artifact-types/x.ts', "import { FsRegistry } from '../../io/store/registry';", 'src/io/store/registry'],
    // a detour through an allowed folder is resolved, not read as a string
    ['src/engine/worker/x.ts', "import { FsRegistry } from '../../io/parse/../store/registry';", 'src/io/store/registry'],
    // dynamic import, require and import = require count too
    ['src/engine/worker/x.ts', "export const load = () => import('../../io/postgres/client');", 'src/io/postgres/client'],
    ['src/kernels/x.ts', "const s = require('../io/store/open');\nexport default s;", 'src/io/store/open'],
    ['src/kernels/x.ts', "import store = require('../io/store/open');\nexport default store;", 'src/io/store/open'],
  ])('%s: %s', async (filePath, code, target) => {
    const errors = await boundaryErrors(filePath, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`(${target})`);
  });
});

describe('what the boundary allows', () => {
  it.each([
    // the worker's own closure: parsing, the canonical and artifact codecs, kernels, the thread protocol
    ['src/engine/worker/x.ts', "import { parseBlock } from '../../io/parse/scanner';\nimport { coocRows } from '../../kernels/cooc';"],
    ['src/engine/worker/x.ts', "import { ShardTask } from '../threads/messages';\nimport { collectGarbage } from '../threads/shared-memory';"],
    ['src/engine/worker/x.ts', "export const load = () => import('../../io/canonical/canonical');"],
    ['src/io/artifacts/x.ts', "import { writeFileAtomic } from '../atomic';\nimport { badInput } from '../../errors';"],
    // packages and node builtins
    ['src/engine/worker/x.ts', "import { readFileSync } from 'node:fs';\nimport { Piscina } from 'piscina';"],
    // type-only imports load nothing at run time
    ['src/io/artifacts/x.ts', "import type { CatalogItem } from '../sources/catalog';"],
    ['src/engine/worker/x.ts', "export type { Registry } from '../../io/store/registry';"],
    // staging runs on the main thread
    ['src/io/artifacts/staging.ts', "import { openStore } from '../store/open';"],
    // main-thread code is not restricted
    ['src/engine/pipeline/x.ts', "import { FsRegistry } from '../../io/store/registry';"],
    ['src/engine/threads/pool.ts', "import { openStore } from '../../io/store/open';"],
  ])('%s: %s', async (filePath, code) => {
    expect(await boundaryErrors(filePath, code)).toEqual([]);
  });
});

describe('the real worker side', () => {
  it('the rule is on for the worker entry and its closure, off for staging and the pool', async () => {
    const on = async (file: string) => {
      const config = (await eslint.calculateConfigForFile(file)) as { rules?: Record<string, unknown> } | undefined;
      return RULE in (config?.rules ?? {});
    };
    for (const file of [
      'src/engine/worker/index.ts',
      'src/kernels/cooc.ts',
      'src/io/parse/scanner.ts',
      'src/io/canonical/canonical.ts',
      'src/io/artifacts/codec.ts',
      'src/engine/threads/messages.ts',
      'src/io/atomic.ts',
    ]) {
      expect(await on(file), file).toBe(true);
    }
    for (const file of ['src/io/artifacts/staging.ts', 'src/engine/threads/pool.ts', 'src/engine/pipeline/run.ts', 'src/io/store/open.ts']) {
      expect(await on(file), file).toBe(false);
    }
  });

  it('imports nothing it may not: src/ passes the rule', async () => {
    const results = await eslint.lintFiles(['src/**/*.ts']);
    expect(results.length).toBeGreaterThan(20);
    expect(results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line}: ${m.message}`))).toEqual([]);
  });
});
