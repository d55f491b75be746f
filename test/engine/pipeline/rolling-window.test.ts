/**
 * window_days (rolling windows): each day's artifacts cover the N days ending that day,
 * read from the canonical partitions already written (no re-ingest), equal to the reference
 * over those days' events in day order.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../../../src/engine/pipeline/run';
import { must, tempDir, testConfig } from '../../support/helpers';
import { generateDayLines, writeRawLayout } from '../../support/generate';
import type { RefLimits } from '../../support/reference';
import { EVENT_KINDS, PAYLOAD_FIELD, parseRawDay, refPayload } from '../../support/reference';

const TENANT = 'acme';
const SURFACE = 'home';
const DAYS = ['2026-05-01', '2026-05-02', '2026-05-03'] as const;
const NOW = new Date('2026-05-04T00:00:00Z');
const LIMITS: RefLimits = { min_cooc_support: 1, max_neighbors_per_item: 4, max_items_per_artifact: 40, max_items_per_user: 6 };

const tmp = tempDir('recsys-window-');
afterAll(() => tmp.cleanup());

function setup(name: string) {
  const dir = join(tmp.dir, name);
  const texts = Object.fromEntries(
    DAYS.map((day, i) => [day, generateDayLines(500 + i, { tenant: TENANT, surface: SURFACE, day, events: 400, users: 12, items: 30 })]),
  );
  writeRawLayout(join(dir, 'raw'), TENANT, SURFACE, texts);
  const config = testConfig(join(dir, 'out'), { raw_source: { dir: join(dir, 'raw') }, artifact_kinds: [...EVENT_KINDS], limits: LIMITS, window_days: 2 });
  return { dir, texts, config };
}

const base = { tenant: TENANT, surface: SURFACE, segment: '', incremental: false, log: () => {}, now: () => NOW };

describe('window_days 2', () => {
  it("computes each day's artifacts over that day and the day before", async () => {
    const { texts, config } = setup('run');
    const summary = await runPipeline({ ...base, config, start: DAYS[0], end: DAYS[2] });
    for (const [i, d] of summary.days.entries()) {
      const windowDays = DAYS.slice(Math.max(0, i - 1), i + 1);
      const events = windowDays.flatMap((day) => parseRawDay(must(texts[day]), TENANT, SURFACE, day).events);
      for (const p of d.published) {
        const blob = JSON.parse(readFileSync(p.uri.slice('file://'.length), 'utf8'));
        const start = i === 0 ? '2026-04-30' : windowDays[0];
        expect(blob.window).toEqual({ start: `${start}T00:00:00Z`, end: `${DAYS[i + 1] ?? '2026-05-04'}T00:00:00Z` });
        expect(blob[PAYLOAD_FIELD[p.type as (typeof EVENT_KINDS)[number]]], `${d.day} ${p.type}`).toEqual(
          refPayload(p.type as (typeof EVENT_KINDS)[number], events, LIMITS),
        );
      }
      expect(d.staged[0]?.path).toContain(`${i === 0 ? '2026-04-30' : windowDays[0]}_${DAYS[i + 1] ?? '2026-05-04'}`);
    }
  });

  it('reads the earlier day from its canonical partition, not from the raw file', async () => {
    const { dir, texts, config } = setup('no-reingest');
    await runPipeline({ ...base, config, start: DAYS[0], end: DAYS[0], command: 'ingest' });
    rmSync(join(dir, 'raw', TENANT, SURFACE, `exposure.${DAYS[0]}.jsonl`));
    const summary = await runPipeline({ ...base, config, start: DAYS[1], end: DAYS[1] });
    const events = DAYS.slice(0, 2).flatMap((day) => parseRawDay(must(texts[day]), TENANT, SURFACE, day).events);
    const pop = must(
      summary.days[0]?.published.find((p) => p.type === 'popularity'),
      'a popularity artifact',
    );
    expect(JSON.parse(readFileSync(pop.uri.slice('file://'.length), 'utf8')).items).toEqual(refPayload('popularity', events, LIMITS));
  });
});
