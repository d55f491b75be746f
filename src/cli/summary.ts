/** The short human summaries commands print on stdout (progress and logs go to stderr). */
import type { RunPlan } from '../engine/ops/dry-run';
import { describeDrift } from '../engine/drift';
import type { History } from '../engine/ops/history';
import { versionOfUri, type RollbackResult } from '../engine/ops/rollback';
import type { RunSummary } from '../engine/pipeline/request';
import { formatDuration, type Status } from '../engine/ops/status';

const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms)}ms`);

/** Columns padded to their widest cell: `align[c]` 'l' or 'r' (default: first column left, the others right). */
export function table(rows: string[][], align?: string): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const left = (c: number) => (align ? align[c] === 'l' : c === 0);
  return rows
    .map((r) =>
      r
        .map((cell, c) => (left(c) ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * Summary of `run` and of the job commands. The columns follow the stages the command ran:
 * ingest counts (lines, events, skipped, rejected) when it ingested, else the validated
 * window (events, sessions, items, users) when it validated; then the time of each stage.
 */
export function formatRunSummary(s: RunSummary, workers: number): string {
  const scope = `${s.tenant}/${s.surface}${s.segment ? ` segment=${s.segment}` : ''}`;
  const ran = (stage: (typeof s.stages)[number]) => s.stages.includes(stage);
  const poolNote = ran('ingest') || ran('compute') ? `, ${workers} worker(s)` : '';
  const partNote = s.part ? ` (part ${s.part.index} of ${s.part.count}: ${s.part.partUnits} of ${s.part.units} unit(s))` : '';
  const lines = [`${s.command} ${scope}${partNote}: ${s.days.length} day(s)${poolNote}${s.failed.length ? `, ${s.failed.length} failed` : ''}`];
  if (s.part && s.part.partUnits === 0) lines.push(`nothing to do: part ${s.part.index} of ${s.part.count} is empty`);
  if (s.days.length > 0) {
    const head = ['day'];
    if (ran('ingest')) head.push('lines', 'events', 'skip:tenant/surface', 'skip:outside-day', 'rejected');
    else if (ran('validate')) head.push('events', 'sessions', 'items', 'users');
    head.push(...s.stages);
    const rows = [head];
    for (const d of s.days) {
      const row = [d.day];
      if (d.counts) {
        const rejected = Object.values(d.counts.rejected).reduce((a, b) => a + b, 0);
        row.push(
          String(d.counts.lines),
          String(d.counts.events),
          String(d.counts.skippedOtherTenantSurface),
          String(d.counts.skippedOutsideDay),
          String(rejected),
        );
      } else if (d.window) {
        row.push(String(d.window.events), String(d.window.sessions), String(d.window.items), String(d.window.users));
      }
      row.push(...s.stages.map((stage) => fmtMs(d.ms[stage])));
      rows.push(row);
    }
    lines.push(table(rows));
    for (const d of s.days) {
      for (const [rule, n] of Object.entries(d.counts?.rejected ?? {})) lines.push(`${d.day} rejected ${n} line(s): ${rule}`);
    }
    if (ran('compute') && !ran('publish')) {
      lines.push('staged:');
      for (const d of s.days) for (const a of d.staged) lines.push(`  ${d.day}  ${a.type.padEnd(11)}  ${a.version}  ${a.bytes} bytes  at ${a.path}`);
    }
    if (ran('publish')) {
      lines.push('published:');
      for (const d of s.days) for (const p of d.published) lines.push(`  ${d.day}  ${p.type.padEnd(11)}  ${p.version}  ${p.bytes} bytes`);
      if (s.days.some((d) => d.published.length > 0)) {
        lines.push('drift (against the artifact each replaced):');
        for (const d of s.days) for (const p of d.published) lines.push(`  ${d.day}  ${describeDrift(p.drift)}`);
      }
      if (s.days.some((d) => d.signals)) {
        lines.push('signals (db.dsn, rows upserted):');
        for (const d of s.days) {
          if (!d.signals) continue;
          const tables = Object.entries(d.signals.rows).map(([table, n]) => `${table} ${n}`);
          lines.push(`  ${d.day}  day ${d.signals.day}  ${tables.join(', ')}`);
        }
      }
    }
  }
  if (s.failed.length > 0) {
    lines.push('failed:');
    for (const f of s.failed) lines.push(`  ${f.day}  ${f.stage}  ${f.code}  ${f.message}`);
  }
  // Only a manifest this command wrote: with every day failed there may be none at all.
  if (ran('publish')) lines.push(s.manifest === null ? 'manifest: not changed (nothing published)' : `manifest: ${s.manifest}`);
  return lines.join('\n') + '\n';
}

/** `run --dry-run` / `ingest --dry-run`. */
export function formatPlan(p: RunPlan): string {
  const scope = `${p.tenant}/${p.surface}${p.segment ? ` segment=${p.segment}` : ''}`;
  const span = p.days.length > 0 ? ` ${p.days[0].day}..${p.days[p.days.length - 1].day}` : '';
  const lines = [`plan: ${p.command} ${scope}: ${p.days.length} day(s)${span}`];
  if (p.command === 'run') lines.push(`artifacts: ${p.artifactKinds.join(', ')}; ${p.workers} worker(s)`);
  if (p.checkpoint) {
    const whose = p.checkpoint.format === 'go' ? "the Go tool's checkpoint" : 'checkpoint';
    lines.push(`incremental: after ${p.checkpoint.day} (${whose} ${p.checkpoint.file})`);
  }
  if (p.catalog) lines.push(`catalog: ${p.catalog.path} (${p.catalog.bytes === null ? 'missing: content_sim would fail' : `${p.catalog.bytes} bytes`})`);
  if (p.days.length > 0) {
    const rows = [['day', 'bytes', 'est. events', 'input']];
    for (const d of p.days) {
      const missing = p.missingBlocks
        ? 'missing → no events: not published, the run fails here (raw input missing; --allow-empty publishes it)'
        : 'missing → no events';
      const input = d.input === null ? missing : d.layout === 'flat' ? `${d.input} (flat file shared by every day)` : d.input;
      rows.push([d.day, String(d.bytes), String(d.estimatedEvents), input]);
    }
    lines.push(table(rows, 'lrrl'));
  }
  lines.push(`estimated events: ${p.totalEstimatedEvents} (lines of the input files; includes other tenants/surfaces and days)`);
  lines.push('dry run: nothing was read beyond the first 64 KiB of each file, nothing was written');
  return lines.join('\n') + '\n';
}

const windowText = (w: { start: string; end: string } | null) => (w ? `${w.start}..${w.end}` : '(no record)');

export function formatHistory(h: History): string {
  const lines = [`history ${h.tenant}/${h.surface}`];
  const pointers = (current: Record<string, string>) => Object.entries(current).map(([type, uri]) => `    ${type.padEnd(11)}  ${versionOfUri(uri)}`);
  lines.push(`current (${h.manifestPath}):`);
  if (h.current === null) lines.push('  none: nothing was published yet');
  else lines.push(`  updated_at ${h.current.updated_at}`, ...pointers(h.current.current));
  lines.push(`past manifests (${h.history.length}, oldest first):`);
  for (const e of h.history) lines.push(`  #${e.seq} updated_at ${e.manifest.updated_at}`, ...pointers(e.manifest.current));
  lines.push(`records (${h.records.length}, oldest first):`);
  for (const r of h.records) {
    const origin = r.format === 'go' ? 'Go tool record (built_at; no size)' : `${r.size_bytes} bytes`;
    lines.push(`  ${r.published_at}  ${r.artifact_type.padEnd(11)}  ${r.version}  ${windowText(r.window)}  ${origin}`);
  }
  lines.push(`audit (${h.audit.length}):`);
  for (const a of h.audit) {
    const from = a.from === null ? '(none)' : versionOfUri(a.from);
    lines.push(`  ${a.at}  ${a.action}  ${a.type}  ${from} → ${versionOfUri(a.to)}  by ${a.user}@${a.host}`);
  }
  return lines.join('\n') + '\n';
}

export function formatStatus(s: Status): string {
  const head =
    s.updated_at === null
      ? `MISSING ${s.tenant}/${s.surface}: no manifest at ${s.manifest}`
      : `${s.state.toUpperCase()} ${s.tenant}/${s.surface}: updated_at ${s.updated_at}, age ${
          s.age_seconds === null ? 'unknown' : formatDuration(s.age_seconds * 1000)
        } (max ${formatDuration(s.max_age_seconds * 1000)})`;
  const lines = [head];
  if (s.artifacts.length > 0) {
    const rows = [['type', 'version', 'window', 'bytes']];
    for (const a of s.artifacts) rows.push([a.type, a.version, windowText(a.window), a.size_bytes === null ? '-' : String(a.size_bytes)]);
    lines.push(table(rows, 'lllr'));
    for (const a of s.artifacts) if (a.problem) lines.push(`problem: ${a.type}: ${a.problem}`);
  }
  return lines.join('\n') + '\n';
}

export function formatRollback(r: RollbackResult): string {
  if (!r.changed) return `${r.type} is already at ${r.version}: manifest unchanged\n`;
  const from = r.from === null ? '(none)' : versionOfUri(r.from);
  return `rolled back ${r.type}: ${from} → ${r.version}\nmanifest updated_at ${r.manifest.updated_at}\naudit: ${r.audit}\n`;
}
