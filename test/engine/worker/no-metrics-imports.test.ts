/**
 * The worker side never loads the metrics code: prom-client, src/engine/ops/metrics.ts and
 * src/io/metrics/ stay on the main thread. Checked on the transitive imports of the worker
 * entry and of every worker-side folder (type-only imports included: they are a dependency
 * in the source even when erased).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../support/helpers';

const SRC = join(REPO_ROOT, 'src');
const WORKER_SIDE = ['engine/worker', 'kernels', 'io/parse', 'io/canonical', 'io/artifacts', 'engine/artifact-types'];
const FORBIDDEN = [/^prom-client$/, /^src\/engine\/ops\/metrics\.ts$/, /^src\/io\/metrics\//, /^src\/cli\//];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Import specifiers of a source file, resolved to repository paths (or package names). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import|require\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
  return specs.map((spec) => {
    if (!spec.startsWith('.')) return spec;
    const base = resolve(dirname(file), spec);
    const found = [`${base}.ts`, join(base, 'index.ts')].find(existsSync) ?? base;
    return relative(REPO_ROOT, found);
  });
}

describe('worker-side code never imports metrics code', () => {
  it('not directly, not transitively', () => {
    const seen = new Set<string>();
    const offending: string[] = [];
    const queue = WORKER_SIDE.flatMap((d) => filesUnder(join(SRC, d))).map((f) => relative(REPO_ROOT, f));
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const dep of importsOf(join(REPO_ROOT, file))) {
        if (FORBIDDEN.some((re) => re.test(dep))) offending.push(`${file} → ${dep}`);
        if (dep.startsWith('src/') && dep.endsWith('.ts')) queue.push(dep);
      }
    }
    expect(seen.size).toBeGreaterThan(20);
    expect(offending).toEqual([]);
  });
});
