/**
 * Every command the docs show is run against the sample data.
 *
 * From README.md, docs/*.md and docs/runbooks/*.md, every line of a ```sh block (also
 * bash/shell) that starts with `npx recsys-pipelines` or `node bin/recsys-pipelines.js` is
 * run (in this process, as `main(argv)`), in document order, in a sandbox per page: a temp
 * folder holding a copy of configs/ and testdata/, used as the working directory, so
 * `--config configs/local.json` writes
 * under `<sandbox>/.out/local`. A trailing `# exit N` comment states the exit code the doc
 * promises; without one the command must exit 0. `prints "…"` in that comment (one or more
 * quoted texts) states what the command says: each must appear in its stdout or stderr.
 * Lines continued with `\` are joined. A bare `recsys-pipelines …` line in a sh block is an
 * error (it would silently not run): write `npx recsys-pipelines …`.
 *
 * Not run: other programs of a sh block (kubectl, helm, cat, sed…), and anything in a
 * ```text block, which is where a command that cannot run on the sample data goes (a
 * synopsis with placeholders, a production path or cluster), with the reason in the prose.
 * `npm start` (alone or in `npm ci && npm start`) runs package.json's start script, which
 * must itself be such a command; `npm run gen -- …` and `npm run go-tool -- …` (the data
 * generator and the Go tool emulator of bench/) run in this process too; other npm
 * commands are not run.
 *
 * The commands must be plain (no pipes, redirections, `&&`, variables or substitutions), so
 * that what the doc shows is exactly what runs.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate, parseArgs as parseGenArgs } from '../../bench/gen';
import { goTool } from '../../bench/go-tool';
import type { CliResult } from '../support/cli-harness';
import { cli } from '../support/cli-harness';
import { must, REPO_ROOT, removeDir } from '../support/helpers';

const PREFIXES = ['npx recsys-pipelines', 'node bin/recsys-pipelines.js'];

/** `npm start` as package.json defines it. */
function npmStartCommand(): string {
  const start: string = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts.start;
  if (!PREFIXES.some((p) => start.startsWith(p + ' '))) throw new Error(`package.json "start" is not a recsys-pipelines command: ${start}`);
  return start;
}

export interface DocCommand {
  /** 1-based line of the command's first line in the page. */
  line: number;
  /** The command as the doc shows it (continuations joined, comment removed). */
  text: string;
  /** Arguments after the program. */
  args: string[];
  expectedExit: number;
  /** Texts the doc says the command prints (`# … prints "…"`): each in its stdout or stderr. */
  prints?: string[];
  /** `npm run gen -- …` or `npm run go-tool -- …` (bench/): run in this process too; absent for CLI commands. */
  tool?: 'gen' | 'go-tool';
}

/** Splits a command line into words like sh does for plain words, '…' and "…" (no expansion). */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${text}`);
      word += text.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && j + 1 < text.length && '"\\$`'.includes(text.charAt(j + 1))) j++;
        word += text[j];
      }
      if (j >= text.length) throw new Error(`unterminated " in: ${text}`);
      i = j;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Removes an unquoted `# …` comment; returns the command and the comment. */
function splitComment(text: string): { command: string; comment: string } {
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = '';
      else if (c === '\\' && quote === '"') i++;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '\\') i++;
    else if (c === '#' && (i === 0 || /\s/.test(text.charAt(i - 1)))) return { command: text.slice(0, i).trimEnd(), comment: text.slice(i + 1).trim() };
  }
  return { command: text.trimEnd(), comment: '' };
}

/** The CLI commands of a Markdown page's sh blocks, in order. */
export function extractCommands(markdown: string): DocCommand[] {
  const lines = markdown.split('\n');
  const out: DocCommand[] = [];
  let fence: string | null = null;
  let isShell = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = must(lines[i]);
    const open = /^\s*(```+|~~~+)\s*([\w-]*)/.exec(raw);
    if (fence === null) {
      if (open) {
        fence = must(open[1]);
        isShell = ['sh', 'bash', 'shell'].includes(must(open[2]).toLowerCase());
      }
      continue;
    }
    if (raw.trim().startsWith(fence) && raw.trim().replace(/[`~]/g, '') === '') {
      fence = null;
      continue;
    }
    if (!isShell) continue;
    // Join continuation lines.
    const first = i;
    let text = raw.trim();
    while (text.endsWith('\\') && i + 1 < lines.length) text = text.slice(0, -1) + ' ' + must(lines[++i]).trim();
    const { comment, command: written } = splitComment(text);
    let command = written;
    if (command.startsWith('npm ') && command.split('&&').some((part) => part.trim() === 'npm start')) command = npmStartCommand();
    const exit = /\bexits?(?: code)? (\d+)\b/.exec(comment);
    const printed = /\bprints (.*)$/.exec(comment);
    const prints = printed ? [...must(printed[1]).matchAll(/"([^"]*)"/g)].map((m) => must(m[1])) : [];
    if (/^recsys-pipelines\s/.test(command))
      throw new Error(`line ${first + 1}: a bare recsys-pipelines command would not run: write npx recsys-pipelines (${command})`);
    const npmRun = /^npm run (gen|go-tool) -- (.*)$/.exec(command);
    if (npmRun) {
      const tool = npmRun[1] as 'gen' | 'go-tool';
      out.push({ line: first + 1, text: command, args: shellWords(must(npmRun[2])), expectedExit: exit ? Number(exit[1]) : 0, tool });
      continue;
    }
    const prefix = PREFIXES.find((p) => command === p || command.startsWith(p + ' '));
    if (!prefix) continue;
    out.push({
      line: first + 1,
      text: command,
      args: shellWords(command.slice(prefix.length)),
      expectedExit: exit ? Number(exit[1]) : 0,
      ...(prints.length > 0 && { prints }),
    });
  }
  return out;
}

/** The pages whose commands are checked: README.md, docs/*.md and docs/runbooks/*.md. */
function pages(): string[] {
  const md = (dir: string) =>
    readdirSync(join(REPO_ROOT, dir))
      .filter((n) => n.endsWith('.md'))
      .sort()
      .map((n) => join(dir, n));
  return ['README.md', ...md('docs'), ...md(join('docs', 'runbooks'))];
}

const sandboxes: string[] = [];
afterAll(() => {
  for (const dir of sandboxes) removeDir(dir);
});

function sandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), 'recsys-docs-'));
  sandboxes.push(dir);
  cpSync(join(REPO_ROOT, 'configs'), join(dir, 'configs'), { recursive: true });
  cpSync(join(REPO_ROOT, 'testdata'), join(dir, 'testdata'), { recursive: true });
  return dir;
}

describe('extractCommands', () => {
  it('finds CLI lines of sh blocks only, joins continuations and reads "# exit N"', () => {
    const md = [
      '```sh',
      'npm ci',
      'npm ci && npm start   # sample',
      'npm test',
      'npx recsys-pipelines run --config configs/local.json \\',
      '  --start 2026-01-01   # full pipeline',
      'node bin/recsys-pipelines.js status --config "configs/local.json"  # exit 1',
      'npx recsys-pipelines status --config configs/local.json  # exit 1, prints "MISSING demo/home" and "no manifest"',
      'kubectl get pods',
      '```',
      '```text',
      'npx recsys-pipelines not-a-command',
      '```',
      '```',
      'npx recsys-pipelines also-not-run',
      '```',
    ].join('\n');
    expect(extractCommands(md)).toEqual([
      { line: 3, text: npmStartCommand(), args: shellWords(npmStartCommand().replace(/^node bin\/recsys-pipelines\.js /, '')), expectedExit: 0 },
      {
        line: 5,
        text: 'npx recsys-pipelines run --config configs/local.json  --start 2026-01-01',
        args: ['run', '--config', 'configs/local.json', '--start', '2026-01-01'],
        expectedExit: 0,
      },
      {
        line: 7,
        text: 'node bin/recsys-pipelines.js status --config "configs/local.json"',
        args: ['status', '--config', 'configs/local.json'],
        expectedExit: 1,
      },
      {
        line: 8,
        text: 'npx recsys-pipelines status --config configs/local.json',
        args: ['status', '--config', 'configs/local.json'],
        expectedExit: 1,
        prints: ['MISSING demo/home', 'no manifest'],
      },
    ]);
  });

  it('refuses a bare recsys-pipelines line in a sh block (it would silently not run)', () => {
    expect(() => extractCommands(['```sh', 'recsys-pipelines status --config prod.json', '```'].join('\n'))).toThrow(/line 2: a bare recsys-pipelines command/);
    expect(extractCommands(['```text', 'recsys-pipelines status --config <path>', '```'].join('\n'))).toEqual([]);
  });
});

describe('commands shown in the docs work on the sample data', () => {
  const all = pages().map((page) => {
    try {
      return { page, commands: extractCommands(readFileSync(join(REPO_ROOT, page), 'utf8')) };
    } catch (err) {
      throw new Error(`${page}: ${(err as Error).message}`);
    }
  });

  it('the docs show commands at all (the extraction is not silently empty)', () => {
    const total = all.reduce((n, p) => n + p.commands.length, 0);
    expect(total).toBeGreaterThanOrEqual(30);
    const runbooks = readdirSync(join(REPO_ROOT, 'docs', 'runbooks')).filter((n) => n.endsWith('.md'));
    expect(runbooks.length).toBeGreaterThan(0);
    for (const page of [
      'README.md',
      'docs/run-locally.md',
      'docs/operate-daily.md',
      'docs/backfill.md',
      'docs/rollback.md',
      'docs/cli.md',
      ...runbooks.map((n) => `docs/runbooks/${n}`),
    ]) {
      expect(all.find((p) => p.page === page)?.commands.length ?? 0, page).toBeGreaterThan(0);
    }
  });

  for (const { page, commands } of all) {
    if (commands.length === 0) continue;
    // One page after another: each command runs in this process with the page's sandbox as
    // its working directory, which is process-wide.
    it(`${page}: ${commands.length} command(s), in order`, async () => {
      const cwd = sandbox();
      for (const c of commands) {
        const where = `${page}:${c.line}: ${c.text}`;
        expect(/[|;&<>`$]/.test(c.text.replace(/'[^']*'|"[^"]*"/g, '')), `${where}: keep doc commands plain (no pipes, redirections, variables)`).toBe(false);
        const r = c.tool === undefined ? await cli(c.args, { cwd }) : await runTool(c.tool, c.args, cwd);
        const detail = `${where}\n(sandbox ${cwd})\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
        expect(r.code, detail).toBe(c.expectedExit);
        expect(r.stderr, detail).not.toMatch(/internal error|\n {4}at /);
        for (const text of c.prints ?? []) expect(r.stdout + r.stderr, `${detail}\n--- expected to print: ${text}`).toContain(text);
      }
    });
  }
});

/**
 * `npm run gen -- …` / `npm run go-tool -- …` as npm runs them from the package root (here
 * the sandbox): the bench scripts' own entry points, in this process. Exit 2 on an error.
 */
async function runTool(tool: 'gen' | 'go-tool', args: string[], cwd: string): Promise<CliResult> {
  try {
    if (tool === 'gen') {
      const opts = parseGenArgs(args);
      const paths = await generate({ ...opts, out: resolve(cwd, opts.out) });
      return { code: 0, stdout: `wrote ${paths.length} file(s)\n`, stderr: '' };
    }
    return { code: 0, stdout: (await goTool(args, cwd)).join('\n') + '\n', stderr: '' };
  } catch (err) {
    return { code: 2, stdout: '', stderr: `error: ${(err as Error).message}\n` };
  }
}

/** GitHub's anchor of a heading: lower-case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Anchors of a Markdown file's headings (outside code blocks). */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const h = !inFence && /^#{1,6}\s+(.*)$/.exec(line);
    if (h) out.add(slug(must(h[1])));
  }
  return out;
}

describe('links between the docs', () => {
  it('every relative link of README.md, docs/*.md and docs/runbooks/*.md names an existing file and heading', () => {
    const broken: string[] = [];
    for (const page of pages()) {
      const text = readFileSync(join(REPO_ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = must(m[1]);
        if (/^[a-z]+:/.test(target)) continue;
        const [file = '', anchor] = target.split('#');
        const path = file === '' ? join(REPO_ROOT, page) : normalize(join(REPO_ROOT, dirname(page), file));
        if (!existsSync(path)) broken.push(`${page}: ${target} (no such file)`);
        else if (anchor !== undefined && !anchors(readFileSync(path, 'utf8')).has(anchor)) broken.push(`${page}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
