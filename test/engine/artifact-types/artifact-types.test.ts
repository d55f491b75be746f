/**
 * The table of artifact types (src/engine/artifact-types) and the worked example of
 * docs/adding-an-artifact-type.md: the table matches the contract, a type missing a member
 * does not compile, the example type computes what a naive count says for any shard count,
 * and the docs show the example's code and the table's type list as they are.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { itemReach, type ReachShard } from '../../../docs/examples/item-reach';
import type { LimitsConfig } from '../../../src/config/types';
import { ARTIFACT_TYPE_DEFS, ARTIFACT_TYPES, artifactType, artifactTypeOf } from '../../../src/engine/artifact-types';
import { defineArtifactType } from '../../../src/engine/artifact-types/artifact-type';
import { kernelRunner } from '../../../src/engine/pipeline/compute';
import { payloadValue } from '../../../src/io/artifacts/codec';
import { quoteAll } from '../../../src/io/artifacts/go-json';
import { gateFailed } from '../../../src/errors';
import { indexDay } from '../../../src/kernels/day-index';
import { canonicalDayOf } from '../../support/canonical';
import { generateDayLines } from '../../support/generate';
import { REPO_ROOT } from '../../support/helpers';
import { PAYLOAD_FIELD, parseRawDay, type RefEvent } from '../../support/reference';

describe('the table of artifact types', () => {
  it('lists the five contract types in canonical order, with the contract payload fields and aliases', () => {
    expect(ARTIFACT_TYPES).toEqual(['popularity', 'cooc', 'implicit', 'content_sim', 'session_seq']);
    for (const t of ARTIFACT_TYPES) expect(artifactType(t).payloadField, t).toBe(PAYLOAD_FIELD[t]);
    expect(artifactTypeOf('content')).toBe('content_sim');
    expect(artifactTypeOf('session')).toBe('session_seq');
    expect(artifactTypeOf('Popularity')).toBeUndefined();
  });

  it('every type that needs no catalog has a kernel (its work runs on the pool)', () => {
    for (const def of ARTIFACT_TYPE_DEFS) expect(def.kernel === null, def.name).toBe(def.needs.catalog);
  });

  it('a type missing a member does not compile (npm run typecheck checks the expected error)', () => {
    // @ts-expect-error: checkRow (and the rest) missing: the compiler refuses an incomplete type
    const incomplete = defineArtifactType({ name: 'half', aliases: [], payloadField: 'items' });
    expect(incomplete.name).toBe('half');
  });
});

const LIMITS: LimitsConfig = {
  max_days_backfill: 10,
  max_events_per_run: 1e9,
  max_sessions_per_run: 1e9,
  max_items_per_session: 1e9,
  max_distinct_items_per_run: 1e9,
  max_neighbors_per_item: 50,
  max_items_per_artifact: 7,
  min_cooc_support: 2,
  max_users_per_run: 1e9,
  max_items_per_user: 500,
  min_events_per_run: 0,
};

/** Distinct known users per item, ranked by (users desc, id asc in UTF-8 byte order), the first `cap`. */
function naiveReach(events: RefEvent[], cap: number): Array<{ item_id: string; users: number }> {
  const users = new Map<string, Set<string>>();
  for (const e of events) if (e.user_id) (users.get(e.item_id) ?? users.set(e.item_id, new Set()).get(e.item_id)!).add(e.user_id);
  const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  return [...users]
    .map(([item_id, u]) => ({ item_id, users: u.size }))
    .sort((a, b) => b.users - a.users || byBytes(a.item_id, b.item_id))
    .slice(0, cap);
}

describe('the worked example: item_reach (docs/examples/item-reach.ts)', () => {
  const DAY = '2026-01-01';
  const events = parseRawDay(generateDayLines(17, { tenant: 't', surface: 's', day: DAY, events: 2000, users: 40, items: 60 }), 't', 's', DAY).events;
  const day = canonicalDayOf(events);
  const index = indexDay(day);

  it.each([1, 2, 7, 1000])('%i shard(s): the payload equals a naive count', async (shards) => {
    const payload = await itemReach.compute({
      index,
      limits: LIMITS,
      caps: itemReach.caps(LIMITS),
      shards,
      itemIds: async () => quoteAll(day.item.utf8),
      userIds: () => Promise.reject(new Error('not needed')),
      catalog: [],
      runKernel: kernelRunner(null, itemReach) as (s: ReachShard) => Promise<Int32Array>,
    });
    const rows = payloadValue(payload);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows).toEqual(naiveReach(events, LIMITS.max_items_per_artifact));
    const fail = (d: string) => gateFailed('artifact item_reach', d);
    for (const row of rows) expect(() => itemReach.checkRow(row as Record<string, unknown>, itemReach.caps(LIMITS), fail)).not.toThrow();
    expect(() => itemReach.checkRow({ item_id: '', users: 1 }, itemReach.caps(LIMITS), fail)).toThrow(/item_id/);
  });

  it('docs/adding-an-artifact-type.md shows the example file as it is', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'adding-an-artifact-type.md'), 'utf8');
    const code = readFileSync(join(REPO_ROOT, 'docs', 'examples', 'item-reach.ts'), 'utf8');
    expect(doc).toContain('```ts\n' + code + '```');
  });
});

describe('the docs list the table', () => {
  it('docs/artifacts.md lists every type, its aliases and payload field between the generated markers', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'artifacts.md'), 'utf8');
    const between = /<!-- artifact-types:begin -->\n([\s\S]*?)<!-- artifact-types:end -->/.exec(doc)?.[1];
    const want = [
      '| type | aliases | payload field | what it holds |',
      '|---|---|---|---|',
      ...ARTIFACT_TYPE_DEFS.map((d) => `| \`${d.name}\` | ${d.aliases.map((a) => `\`${a}\``).join(', ') || '—'} | \`${d.payloadField}\` | ${d.summary} |`),
      '',
    ].join('\n');
    expect(between, `replace the table in docs/artifacts.md with:\n${want}`).toBe(want);
  });
});
