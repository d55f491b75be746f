/**
 * Partition files: where a day's partition and rejects live, and a partition written then
 * read back (a missing one is a day never ingested; an unreadable one an error naming it).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeCanonical } from '../../../src/io/canonical/arrow-codec';
import { CanonicalDayBuilder } from '../../../src/io/canonical/builder';
import { encodableDay } from '../../../src/io/canonical/day';
import type { IngestRecord } from '../../../src/io/canonical/partitions';
import {
  ingestRecordPath,
  partitionPath,
  readIngestRecord,
  readPartition,
  rejectsPath,
  writeIngestRecord,
  writePartition,
} from '../../../src/io/canonical/partitions';
import { tempDir } from '../../support/helpers';
import { blockOf, LINES, rowsOf } from './fixture';

describe('partitions', () => {
  const tmp = tempDir('recsys-partitions-');
  afterAll(tmp.cleanup);

  it('live at <canonical_dir>/<tenant>/<surface>/exposures/<day>.arrow, rejects beside them', () => {
    expect(partitionPath('/c', 'demo', 'home', '2026-01-01')).toBe('/c/demo/home/exposures/2026-01-01.arrow');
    expect(rejectsPath('/c', 'demo', 'home', '2026-01-01')).toBe('/c/demo/home/exposures/2026-01-01.rejects.jsonl');
  });

  it('a written partition reads back as the same day; its size is the encoded bytes', async () => {
    const b = new CanonicalDayBuilder();
    b.addBlock(blockOf(LINES.slice(0, 500)), 'demo', 'home');
    const day = b.finish();
    const file = partitionPath(tmp.dir, 'demo', 'home', '2026-01-01');
    expect(await writePartition(encodableDay(day), file)).toBe(encodeCanonical(day).length);
    expect(rowsOf((await readPartition(file))!)).toEqual(rowsOf(day));
  });

  it('a missing partition is null; one that cannot be read is E_IO naming it', async () => {
    expect(await readPartition(partitionPath(tmp.dir, 'demo', 'home', '2026-02-01'))).toBeNull();
    const dir = partitionPath(tmp.dir, 'demo', 'home', '2026-02-02');
    mkdirSync(dir, { recursive: true });
    await expect(readPartition(dir)).rejects.toMatchObject({ code: 'E_IO', message: expect.stringContaining(`read canonical partition ${dir}`) });
  });

  describe('ingest records', () => {
    const record: IngestRecord = { v: 1, tenant: 'demo', surface: 'home', day: '2026-03-01', events: 0, lines: 0, raw: 'missing', input: null };

    it('live beside the partition as <day>.ingested.json', () => {
      expect(ingestRecordPath('/c', 'demo', 'home', '2026-01-01')).toBe('/c/demo/home/exposures/2026-01-01.ingested.json');
    });

    it('round-trip for every raw state; the file is two-space JSON with a final newline', async () => {
      for (const [i, raw] of (['present', 'missing', 'empty'] as const).entries()) {
        const r: IngestRecord = {
          ...record,
          day: `2026-03-0${i + 1}`,
          raw,
          events: raw === 'present' ? 12 : 0,
          lines: raw === 'present' ? 13 : 0,
          input: raw === 'missing' ? null : '/raw/x',
        };
        const file = ingestRecordPath(tmp.dir, 'demo', 'home', r.day);
        await writeIngestRecord(file, r);
        expect(await readIngestRecord(file)).toEqual(r);
        const text = readFileSync(file, 'utf8');
        expect(JSON.parse(text)).toEqual(r);
        expect(text).toMatch(/^\{\n {2}"v": 1,\n[^]*\n\}\n$/);
      }
    });

    it('an absent record is undefined; a bad one is E_IO naming the file and the position, never the content', async () => {
      expect(await readIngestRecord(ingestRecordPath(tmp.dir, 'demo', 'home', '2026-04-01'))).toBeUndefined();
      const file = ingestRecordPath(tmp.dir, 'demo', 'home', '2026-04-02');
      writeFileSync(file, '{\n  "v": 1,\n  "input": s3cr3t-token-value\n}\n');
      const err = await readIngestRecord(file).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_IO', exitCode: 1, message: expect.stringContaining(file) });
      expect((err as Error).message).toContain('line 3, column 12');
      expect((err as Error).message).not.toContain('s3cr3t');
      writeFileSync(file, JSON.stringify({ ...record, raw: 'lost', input: 'hunter2-secret' }));
      const shape = await readIngestRecord(file).catch((e: unknown) => e);
      expect(shape).toMatchObject({ code: 'E_IO', message: expect.stringContaining(file) });
      expect((shape as Error).message).not.toContain('hunter2');
    });
  });
});
