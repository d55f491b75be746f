/**
 * Run once before the suite (vitest.config.mts `globalSetup`). Tests run the CLI as other
 * users from this checkout: `setpriv --reuid 65534` (test/support/unprivileged.ts, raw
 * entries) and the simulated pods' and the Dockerfile's user 10001. A checkout in a folder
 * only its owner may enter (`mktemp -d` makes one with mode 0700) would fail those with
 * EACCES before the CLI starts. So, as root (the only user those tests run as), the
 * checkout's folder and its parents get search permission for all (`o+x`: enter, not list),
 * as a deployment lets the pipeline's user reach its code. Nothing else changes.
 */
import { chmodSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  if (process.getuid?.() !== 0) return;
  const root = fileURLToPath(new URL('../..', import.meta.url));
  for (let d = root.replace(/\/$/, ''); d !== dirname(d); d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o111) !== 0o111) chmodSync(d, mode | 0o111);
  }
}
