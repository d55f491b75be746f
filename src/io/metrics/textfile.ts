/**
 * The node_exporter textfile collector's way out: a `*.prom` file in the collector's folder,
 * replaced atomically (temp file in the same folder, fsync, rename), because node_exporter
 * reads the folder at every scrape and must never see a half-written file. The temp name
 * (`.<name>.tmp-…`, see writeFileAtomic) does not end in `.prom`, so the collector skips it.
 */
import { readFile } from 'node:fs/promises';
import type { Registry } from 'prom-client';
import { writeFileAtomic } from '../atomic';

/** Replaces `path` with the registry in the text exposition format. Throws E_IO naming the path. */
export async function writeTextfile(path: string, registry: Registry): Promise<void> {
  const text = await registry.metrics();
  // The exposition format ends every line with \n; prom-client leaves the last one open.
  await writeFileAtomic(path, text.endsWith('\n') ? text : text + '\n');
}

/**
 * The value of the series `name{labels}` (exactly those labels) in a textfile this program
 * wrote earlier; undefined when the file, the series or a number is not there. Used to
 * carry a timestamp over a run that does not set it, since the file is replaced whole.
 */
export async function readTextfileSample(path: string, name: string, labels: Readonly<Record<string, string>>): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined; // first run, or unreadable: nothing to carry
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    const close = line.lastIndexOf('} ');
    if (close < 0) continue;
    const found = parseLabels(line.slice(name.length + 1, close));
    if (!sameLabels(found, labels)) continue;
    const value = Number(
      line
        .slice(close + 2)
        .trim()
        .split(' ')[0],
    );
    return Number.isFinite(value) ? value : undefined;
  }
  return undefined;
}

/** `a="x",b="y\"z"` → {a: 'x', b: 'y"z'} (the exposition format's escapes: \\, \", \n). */
function parseLabels(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    out.set(
      m[1],
      m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)),
    );
  }
  return out;
}

function sameLabels(found: Map<string, string>, want: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(want);
  return found.size === keys.length && keys.every((k) => found.get(k) === want[k]);
}
