/**
 * openRawDay: the configured source's input of a day, the same RawDay shape for every
 * source (the filesystem here; S3 and Postgres in s3.test.ts and postgres.test.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openRawDay, type RawDay } from '../../../src/io/sources/raw-day';
import { tempDir, testConfig } from '../../support/helpers';

async function textOf(input: RawDay): Promise<string> {
  const parts: Buffer[] = [];
  for await (const block of input.blocks(16)) parts.push(block.bytes);
  return Buffer.concat(parts).toString('utf8');
}

describe('openRawDay (filesystem source)', () => {
  const tmp = tempDir('recsys-raw-day-');
  afterAll(tmp.cleanup);
  const lines = '{"a":1}\n{"b":2}\n{"c":3}\n';

  it('a per-day file: named by its path, lines located as path:line', async () => {
    const raw = join(tmp.dir, 'per-day');
    mkdirSync(join(raw, 'demo', 'home'), { recursive: true });
    const file = join(raw, 'demo', 'home', 'exposure.2026-01-01.jsonl');
    writeFileSync(file, lines);
    const config = testConfig(join(tmp.dir, 'out'), { raw_source: { dir: raw } });
    const input = await openRawDay(config, 'demo', 'home', '2026-01-01');
    expect(input).toMatchObject({ name: file, flat: false });
    expect(input.where({}, 2, 1)).toBe(`${file}:3`);
    expect(await textOf(input)).toBe(lines);
  });

  it('the flat file serves every day; a missing day has no input and no blocks', async () => {
    const raw = join(tmp.dir, 'flat');
    mkdirSync(raw, { recursive: true });
    const config = testConfig(join(tmp.dir, 'out'), { raw_source: { dir: raw } });
    const none = await openRawDay(config, 'demo', 'home', '2026-01-01');
    expect(none).toMatchObject({ name: null, flat: false });
    expect(await textOf(none)).toBe('');
    writeFileSync(join(raw, 'exposure.jsonl'), lines);
    const flat = await openRawDay(config, 'demo', 'home', '2026-01-07');
    expect(flat).toMatchObject({ name: join(raw, 'exposure.jsonl'), flat: true });
    expect(await textOf(flat)).toBe(lines);
  });
});
