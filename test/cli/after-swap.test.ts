/**
 * A failure after the manifest swap (the checkpoint write) says what happened: the day IS
 * published, the checkpoint is not, and a rerun finishes it. The failure is real although
 * tests run as root: the checkpoint folder's parent is a regular file (ENOTDIR for anyone).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, publishedLines, sandboxFactory, STACK_FRAME, versionOfUri } from '../support/cli-harness';

const DAY1 = '2026-01-01';
const sandbox = sandboxFactory();

describe('checkpoint write fails after the swap', () => {
  it('"published, checkpoint not advanced" naming the OS error and path; the manifest points at the day; a rerun finishes the checkpoint', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, events(DAY1, 20));
    const blocker = join(sb.dir, 'not-a-dir');
    writeFileSync(blocker, 'a file where the checkpoint folder should be\n');
    const checkpointDir = join(blocker, 'checkpoints');
    const config = sb.config({ checkpoint_dir: checkpointDir });
    const r = await sb.run(config, DAY1, DAY1);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/published, checkpoint not advanced: the manifest already points at 2026-01-01's artifacts, but .*ENOTDIR/);
    expect(r.stderr).toContain(blocker);
    expect(r.stderr).toContain('rerun 2026-01-01');
    expect(r.stderr).not.toContain(STACK_FRAME);
    // The summary names the manifest the day went live in, not "not changed".
    expect(r.stdout).toContain(`manifest: ${sb.out}`);
    expect(r.stdout).not.toContain('manifest: not changed');
    const live = versionOfUri(sb.manifest().current.popularity); // the day is live
    expect(sb.currentBlob('popularity').window.start).toBe(`${DAY1}T00:00:00Z`);

    rmSync(blocker);
    const again = await sb.run(config, DAY1, DAY1);
    expect(again.code, again.stderr).toBe(0);
    expect(publishedLines(again.stdout)[0]?.version).toBe(live);
    const checkpoint = JSON.parse(readFileSync(join(checkpointDir, 'demo', 'home', '_.json'), 'utf8')) as { last_day: string };
    expect(checkpoint.last_day).toBe(DAY1);
  });
});
