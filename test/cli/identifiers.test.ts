/**
 * Identifiers the Go tool refuses (SPEC §9): a tenant, surface or segment that is empty or
 * white space only (Go's unicode.IsSpace set, not only ASCII) is a usage error, exit 2,
 * naming the flag, before anything is read or written. Names with inner spaces stay valid
 * (test/e2e/special-names.test.ts).
 */
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, events, runArgs, Sandbox, STACK_FRAME } from '../support/cli-harness';

const sb = new Sandbox('recsys-identifiers-');
afterAll(() => sb.cleanup());
sb.writeDay('2026-01-01', events('2026-01-01', 5));
const config = sb.config();

const BLANKS = [' ', '   ', '\u00a0', '\u2003\u3000', ' \u0085 '];

describe('white-space-only identifiers', () => {
  for (const [flag, others] of [
    ['--tenant', ['--surface', 'home']],
    ['--surface', ['--tenant', 'demo']],
    ['--segment', ['--tenant', 'demo', '--surface', 'home']],
  ] as const) {
    for (const blank of BLANKS) {
      it(`${flag} ${JSON.stringify(blank)} is exit 2 naming ${flag}; nothing is written`, async () => {
        const r = await cli(['run', '--config', config, flag, blank, ...others, '--start', '2026-01-01', '--end', '2026-01-01', '--workers', '1']);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`${flag} must be a non-empty name, got only white space`);
        expect(r.stderr).not.toContain(STACK_FRAME);
        expect(existsSync(sb.out) ? readdirSync(sb.out) : []).toEqual([]);
      });
    }
  }

  it('status, history and rollback refuse them too', async () => {
    for (const args of [
      ['status', '--config', config, '--tenant', ' ', '--surface', 'home'],
      ['history', '--config', config, '--tenant', 'demo', '--surface', '\u00a0', '--type', 'popularity'],
      ['rollback', '--config', config, '--tenant', '  ', '--surface', 'home', '--type', 'popularity', '--previous'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/--(tenant|surface) must be a non-empty name, got only white space/);
    }
  });

  it('an empty --tenant is refused as well; a name with inner or leading spaces is not white space only', async () => {
    const empty = await cli(['status', '--config', config, '--tenant', '', '--surface', 'home']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('--tenant must be a non-empty name, got an empty one');
    // --allow-empty: no raw input for that tenant, a day without events
    const spaced = await cli(runArgs(config, '2026-01-01', '2026-01-01', ['--allow-empty'], { tenant: 'de mo', surface: ' home' }));
    expect(spaced.code, spaced.stderr).toBe(0);
  });
});
