/** The short human summary a run prints on stdout. */
import type { RunSummary } from './engine/run';

const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms)}ms`);

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

export function formatRunSummary(s: RunSummary, workers: number): string {
  const scope = `${s.tenant}/${s.surface}${s.segment ? ` segment=${s.segment}` : ''}`;
  const lines = [`run ${scope}: ${s.days.length} day(s), ${workers} worker(s)`];
  if (s.days.length > 0) {
    const rows = [['day', 'lines', 'events', 'skip:tenant/surface', 'skip:outside-day', 'rejected', 'ingest', 'validate', 'compute', 'publish']];
    for (const d of s.days) {
      const rejected = Object.values(d.counts.rejected).reduce((a, b) => a + b, 0);
      rows.push([
        d.day,
        String(d.counts.lines),
        String(d.counts.events),
        String(d.counts.skippedOtherTenantSurface),
        String(d.counts.skippedOutsideDay),
        String(rejected),
        fmtMs(d.ms.ingest),
        fmtMs(d.ms.validate),
        fmtMs(d.ms.compute),
        fmtMs(d.ms.publish),
      ]);
    }
    lines.push(table(rows));
    for (const d of s.days) {
      for (const [rule, n] of Object.entries(d.counts.rejected)) lines.push(`${d.day} rejected ${n} line(s): ${rule}`);
    }
    lines.push('published:');
    for (const d of s.days) for (const p of d.published) lines.push(`  ${d.day}  ${p.type.padEnd(11)}  ${p.version}  ${p.bytes} bytes`);
  }
  lines.push(`manifest: ${s.manifest}`);
  return lines.join('\n') + '\n';
}
