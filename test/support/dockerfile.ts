/**
 * The repository's Dockerfile, read as data, and a way to run its steps without Docker (no
 * image can be built on the development machines): each stage gets a folder standing for its
 * root filesystem, WORKDIR/COPY/ENV are applied to it, and RUN lines run with `sh -c` in the
 * stage's working folder on this machine. BuildKit's `--mount=type=cache` is dropped (it
 * only keeps npm's cache out of the image). The base image's own files (node, npm) are this
 * machine's.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { REPO_ROOT } from './helpers';

export const DOCKERFILE = join(REPO_ROOT, 'Dockerfile');
export const DOCKERIGNORE = join(REPO_ROOT, '.dockerignore');

export interface Instruction {
  op: string;
  /** The rest of the line (continuations joined). */
  rest: string;
  line: number;
}

export interface Stage {
  from: string;
  name: string | null;
  instructions: Instruction[];
}

/** The stages of the Dockerfile, each with its instructions (comments and blank lines dropped). */
export function parseDockerfile(text = readFileSync(DOCKERFILE, 'utf8')): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + (lines[++i] ?? '').trim();
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot parse ${JSON.stringify(line)}`);
    const op = (m[1] ?? '').toUpperCase();
    const rest = (m[2] ?? '').trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!f) throw new Error(`Dockerfile line ${start + 1}: cannot parse FROM ${rest}`);
      stages.push({ from: f[1] ?? '', name: f[2] ?? null, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile line ${start + 1}: ${op} before FROM`);
    stage.instructions.push({ op, rest, line: start + 1 });
  }
  return stages;
}

/** The exec-form (JSON array) value of the last `op` of a stage, e.g. ENTRYPOINT. */
export function execForm(stage: Stage, op: string): string[] | null {
  const ins = stage.instructions.filter((i) => i.op === op).at(-1);
  return ins ? (JSON.parse(ins.rest) as string[]) : null;
}

/** The last value of a simple instruction (WORKDIR, USER) of a stage. */
export function lastValue(stage: Stage, op: string): string | null {
  return stage.instructions.filter((i) => i.op === op).at(-1)?.rest ?? null;
}

/** The `!path` entries of the allowlist .dockerignore (`*` then exceptions). */
export function dockerignoreAllowlist(text = readFileSync(DOCKERIGNORE, 'utf8')): string[] {
  const entries = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (entries[0] !== '*') throw new Error('.dockerignore: expected an allowlist starting with "*"');
  return entries.slice(1).map((e) => {
    if (!e.startsWith('!')) throw new Error(`.dockerignore: expected only "!path" exceptions after "*", got ${e}`);
    return e.slice(1).replace(/\/$/, '');
  });
}

export interface BuiltStage {
  name: string | null;
  /** The folder standing for the stage's root filesystem. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string | null;
}

/** The host path of `p` (absolute in the stage, or relative to its WORKDIR). */
export function hostPath(stage: BuiltStage, p: string): string {
  return join(stage.root, posix.resolve(stage.workdir, p));
}

/**
 * Runs every stage's steps: WORKDIR, ENV, COPY (from the build context, which must be in
 * the .dockerignore allowlist, or `--from=<stage>`) and RUN. Returns the stages as built,
 * the last one being the image. `log` gets each step.
 */
export function buildOutsideDocker(rootBase: string, log: (s: string) => void = () => {}): BuiltStage[] {
  const allow = dockerignoreAllowlist();
  const built: BuiltStage[] = [];
  parseDockerfile().forEach((stage, n) => {
    const b: BuiltStage = { name: stage.name, root: join(rootBase, `stage-${n}`), workdir: '/', env: {}, user: null };
    mkdirSync(b.root, { recursive: true });
    built.push(b);
    for (const ins of stage.instructions) {
      log(`[stage ${n}] ${ins.op} ${ins.rest}`);
      switch (ins.op) {
        case 'WORKDIR':
          b.workdir = posix.resolve(b.workdir, ins.rest);
          mkdirSync(hostPath(b, '.'), { recursive: true });
          break;
        case 'ENV': {
          const m = /^(\w+)[= ](.*)$/.exec(ins.rest);
          if (!m) throw new Error(`Dockerfile line ${ins.line}: cannot parse ENV ${ins.rest}`);
          b.env[m[1] ?? ''] = (m[2] ?? '').replace(/^"(.*)"$/, '$1');
          break;
        }
        case 'COPY': {
          const words = ins.rest.split(/\s+/);
          const from = words[0]?.startsWith('--from=') ? words.shift()?.slice('--from='.length) : undefined;
          const dest = words.pop() ?? '';
          for (const src of words) {
            let source: string;
            if (from !== undefined) {
              const other = built.find((s) => s.name === from);
              if (!other) throw new Error(`Dockerfile line ${ins.line}: no stage named ${from}`);
              source = join(other.root, posix.resolve('/', src));
            } else {
              const top = posix.normalize(src).split('/')[0] ?? '';
              if (!allow.includes(top)) throw new Error(`Dockerfile line ${ins.line}: ${src} is left out of the build context by .dockerignore`);
              source = join(REPO_ROOT, src);
            }
            if (!existsSync(source)) throw new Error(`Dockerfile line ${ins.line}: COPY source ${src} does not exist`);
            const target = dest.endsWith('/') || words.length > 1 ? join(hostPath(b, dest), posix.basename(src)) : hostPath(b, dest);
            cpSync(source, target, { recursive: true });
          }
          break;
        }
        case 'RUN': {
          const command = ins.rest.replace(/^(--mount=\S+\s+)+/, '');
          execFileSync('sh', ['-c', command], {
            cwd: hostPath(b, '.'),
            // This machine's PATH and HOME (npm's cache) and the stage's ENV, nothing of the test process.
            env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...b.env },
            stdio: ['ignore', 'pipe', 'pipe'],
            maxBuffer: 64 * 1024 * 1024,
          });
          break;
        }
        case 'USER':
          b.user = ins.rest;
          break;
        case 'ENTRYPOINT':
        case 'CMD':
        case 'LABEL':
        case 'EXPOSE':
          break;
        default:
          throw new Error(`Dockerfile line ${ins.line}: ${ins.op} is not supported by the test's runner; add it to test/support/dockerfile.ts`);
      }
    }
  });
  return built;
}
