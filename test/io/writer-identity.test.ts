/**
 * Writer identity across "pods" (src/io/writer-identity.ts, docs/storage-contract.md §1.6):
 * two processes in their own PID, UTS and mount namespaces (`unshare`, as root, as the
 * Kubernetes simulation runs pods) share one folder. Pod A holds an in-flight temp file
 * written by the real writer code (dist/); pod B runs the temp-file clean-up there. Pod A's
 * pid does not exist in pod B's namespace, so a pid-only rule would delete the file; the
 * writer tag says it is another writer's, so it survives until its lease ends.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir } from '../support/helpers';

const ATOMIC = join(REPO_ROOT, 'dist', 'src', 'io', 'atomic.js');
const UNSHARE = ['--pid', '--uts', '--mount', '--fork', '--mount-proc'];

function unavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (unshare --pid --mount)';
  const probe = spawnSync('unshare', [...UNSHARE, 'true']);
  if (probe.status !== 0) return `unshare refused: ${String(probe.stderr).trim()}`;
  if (!existsSync(ATOMIC)) return `${ATOMIC} is not built (npm run build)`;
  return null;
}
const why = unavailable();
if (why !== null && process.env.CI === 'true') throw new Error(`test/io/writer-identity.test.ts cannot run under CI: ${why}`);
if (why !== null) console.warn(`test/io/writer-identity.test.ts: skipped: ${why}`);

describe.skipIf(why !== null)('two pods sharing a folder', () => {
  const shared = tempDir('recsys-pods-');
  let podA: ChildProcess | null = null;
  afterAll(() => {
    podA?.kill('SIGKILL');
    shared.cleanup();
  });

  it("pod B's clean-up leaves pod A's in-flight temp file alone (pod A's pid is dead from B's view); a lease of 0 removes it", async () => {
    // Pod A: hostname pod-a; the writer runs under a shell after 100 other processes (so its pid is
    // not one of the thread ids of pod B's node, which kill(pid, 0) also finds), writes a temp file with tempPathFor and holds it.
    const writer = `const fs=require('fs');const {tempPathFor}=require(${JSON.stringify(ATOMIC)});const t=tempPathFor(${JSON.stringify(join(shared.dir, 'day.arrow'))});fs.writeFileSync(t,'in flight');console.log(process.pid+' '+t);setInterval(()=>{},1e6);`;
    podA = spawn('unshare', [...UNSHARE, '--kill-child', 'sh', '-c', `hostname pod-a; for i in $(seq 100); do /bin/true; done; node -e "$0" & wait`, writer], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      podA!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      podA!.on('exit', (code) => reject(new Error(`pod A exited (${code}) before writing`)));
    });
    const [pidA, temp] = line.split(' ') as [string, string];
    expect(Number(pidA)).toBeGreaterThan(100);
    expect(readdirSync(shared.dir)).toEqual([temp.split('/').pop()]);

    // Pod B: hostname pod-b, node is pid 1 there, so pod A's pid names no process in B.
    const cleaner = (lease: string) =>
      `const {removeStaleTempFiles,isPidAlive}=require(${JSON.stringify(ATOMIC)});removeStaleTempFiles(${JSON.stringify(shared.dir)}${lease}).then(r=>console.log(JSON.stringify({alive:isPidAlive(${pidA}),removed:r})))`;
    const podB = (lease: string) => {
      const r = spawnSync('unshare', [...UNSHARE, 'sh', '-c', `hostname pod-b; exec node -e "$0"`, cleaner(lease)], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { alive: boolean; removed: string[] };
    };
    const b = podB('');
    expect(b.alive).toBe(false); // a pid-only rule would have deleted the file
    expect(b.removed).toEqual([]);
    expect(existsSync(temp)).toBe(true);
    // Once another writer's lease is over, it goes.
    expect(podB(', 0').removed).toEqual([temp.split('/').pop()]);
  });
});
