/**
 * The hand-written Go tool state of test/fixtures/go-state/state (docs/contract.md §9), copied
 * into a test folder. Its URIs name the folder as `/GO_ROOT`, since a Go record holds an
 * absolute path; the copy replaces that placeholder, literally, with the test folder.
 */
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers';

export const GO_STATE_FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'go-state', 'state');

/** The fixture's popularity versions (file names of its blobs), by window start day. */
export const GO_POPULARITY = {
  '2026-06-01': 'e3239cf60480da3b3d08be6a9585f4c11fff6ba6ff000f947aee8af1431b8259',
  '2026-06-02': '96a9d67220957200df365bfe0b8aebd52f01885875d8421b5b2eed9cdcca5f2d',
} as const;

/** Copies the fixture state into `dir` (its registry/, objectstore/, checkpoints/, canonical/), with `/GO_ROOT` = `dir`. */
export function copyGoState(dir: string): void {
  cpSync(GO_STATE_FIXTURE, dir, { recursive: true });
  const visit = (folder: string): void => {
    for (const name of readdirSync(folder)) {
      const file = join(folder, name);
      if (statSync(file).isDirectory()) visit(file);
      else {
        const text = readFileSync(file, 'utf8');
        if (text.includes('/GO_ROOT')) writeFileSync(file, text.replaceAll('/GO_ROOT', dir));
      }
    }
  };
  visit(dir);
}
