/**
 * Partition files: where a day's partition and rejects live, and a partition written then
 * read back (a missing one is a day never ingested; an unreadable one an error naming it).
 */
import { mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeCanonical } from '../../../src/io/canonical/arrow-codec';
import { CanonicalDayBuilder } from '../../../src/io/canonical/builder';
import { encodableDay } from '../../../src/io/canonical/day';
import { partitionPath, readPartition, rejectsPath, writePartition } from '../../../src/io/canonical/partitions';
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
});
