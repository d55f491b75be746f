/** The text of `diff` (docs/cli.md): the drift figures of two artifacts side by side. */
import { describeThresholds, ratio } from '../engine/drift';
import type { DiffResult } from '../engine/ops/diff';
import { table } from './summary';

export function formatDiff(d: DiffResult): string {
  const f = d.figures;
  const side = (s: DiffResult['from']) => (s.ref === s.version ? s.version : `${s.ref} (${s.version})`);
  const rows = [
    ['', 'from', 'to'],
    ['version', f.from?.version ?? '-', f.to.version],
    [f.rows_of, String(f.from?.rows ?? '-'), String(f.to.rows)],
  ];
  if (f.to.pairs !== null) rows.push(['pairs', String(f.from?.pairs ?? '-'), String(f.to.pairs)]);
  rows.push(['row_shrink', '', ratio(f.row_shrink)], ['key_overlap', '', ratio(f.key_overlap)]);
  if (f.top_n !== null) rows.push([`top_${f.top_n}_overlap`, '', ratio(f.top_n_overlap)]);
  const lines = [
    `diff ${d.tenant}/${d.surface} ${d.type}: ${side(d.from)} → ${side(d.to)}`,
    `from: ${d.from.location}`,
    `to:   ${d.to.location}`,
    table(rows, 'lrr'),
    `thresholds (gates.drift.${d.type}): ${describeThresholds(d.thresholds, f)}`,
    d.blocked.length === 0 ? 'drift gate: would publish' : `drift gate: would block: ${d.blocked.join('; ')}`,
  ];
  return lines.join('\n') + '\n';
}
