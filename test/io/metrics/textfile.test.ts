/** The textfile target: written whole and atomically, its own values readable back for carrying. */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { readTextfileSample, writeTextfile } from '../../../src/io/metrics/textfile';
import { tempDir } from '../../support/helpers';

const dirs: { cleanup: () => void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));
function folder(): string {
  const t = tempDir();
  dirs.push(t);
  return t.dir;
}

function registryWith(value: number, labels: Record<string, string>): Registry {
  const registry = new Registry();
  new Gauge({ name: 'recsys_pipelines_last_success_timestamp_seconds', help: 'h', labelNames: Object.keys(labels), registers: [registry] }).set(labels, value);
  new Gauge({ name: 'recsys_pipelines_other', help: 'h', registers: [registry] }).set(1);
  return registry;
}

describe('writeTextfile', () => {
  it('replaces the file whole, ends with a newline, leaves no temp file, creates the folder', async () => {
    const file = join(folder(), 'collector', 'recsys.prom');
    await writeTextfile(file, registryWith(1, { tenant: 'a' }));
    await writeTextfile(file, registryWith(2, { tenant: 'a' }));
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/\n$/);
    expect(text).toContain('recsys_pipelines_last_success_timestamp_seconds{tenant="a"} 2\n');
    expect(readdirSync(join(file, '..'))).toEqual(['recsys.prom']);
  });

  it('an unwritable target is E_IO naming the path', async () => {
    const blocker = join(folder(), 'not-a-folder');
    writeFileSync(blocker, 'x');
    await expect(writeTextfile(join(blocker, 'recsys.prom'), registryWith(1, {}))).rejects.toMatchObject({
      code: 'E_IO',
      message: expect.stringContaining(blocker),
    });
  });
});

describe('readTextfileSample', () => {
  const name = 'recsys_pipelines_last_success_timestamp_seconds';

  it('reads back the series with exactly these labels, escaped values included', async () => {
    const file = join(folder(), 'r.prom');
    const labels = { command: 'run', tenant: 'we"ird\\t', surface: 'home' };
    await writeTextfile(file, registryWith(1_790_000_000.5, labels));
    expect(await readTextfileSample(file, name, labels)).toBe(1_790_000_000.5);
    expect(await readTextfileSample(file, name, { ...labels, surface: 'other' })).toBeUndefined();
    expect(await readTextfileSample(file, name, { command: 'run', tenant: 'we"ird\\t' })).toBeUndefined();
    expect(await readTextfileSample(file, 'recsys_pipelines_absent', labels)).toBeUndefined();
  });

  it('no file or a garbled one: nothing to carry', async () => {
    const dir = folder();
    expect(await readTextfileSample(join(dir, 'none.prom'), name, {})).toBeUndefined();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'g.prom'), `${name}{tenant="a"} not-a-number\n${name}{tenant="b"\n`);
    expect(await readTextfileSample(join(dir, 'sub', 'g.prom'), name, { tenant: 'a' })).toBeUndefined();
  });
});
