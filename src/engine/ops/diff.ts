/**
 * `diff`: the drift gate's figures between two artifacts of one type (docs/cli.md "diff"),
 * so that an operator can look before a publish (`--to staged`) or after an incident
 * (`--from <version> --to current`). Reads only; takes no lock.
 *
 * A side is `current` (what the manifest points at), `staged` (what `compute` staged for
 * the window of `--day`) or a version with a registry record.
 */
import type { Config, DriftThresholds } from '../../config/types';
import { notFound, usageError } from '../../errors';
import { readStaged, stageRel } from '../../io/artifacts/staging';
import { openFolders } from '../../io/store/folder';
import { openStorage } from '../../io/store/open';
import type { ArtifactType } from '../artifact-types';
import { driftFigures, evaluateDrift, type DriftFigures, type VersionedBlob } from '../drift';
import { dayWindow } from '../pipeline/window';
import { versionOfUri } from './rollback';

export interface DiffRequest {
  config: Config;
  tenant: string;
  surface: string;
  /** The staging path's segment ('' for none). */
  segment: string;
  type: ArtifactType;
  /** `current`, `staged` or a version. */
  from: string;
  to: string;
  /** The day whose window `staged` names (YYYY-MM-DD). */
  day?: string;
}

/** Where a side's blob came from. */
export interface DiffSide {
  /** What was asked: `current`, `staged` or the version. */
  ref: string;
  version: string;
  /** Its URI (current, a version) or staged file path. */
  location: string;
}

export interface DiffResult {
  tenant: string;
  surface: string;
  type: ArtifactType;
  from: DiffSide;
  to: DiffSide;
  figures: DriftFigures;
  /** The configured thresholds of the type (gates.drift.<type>). */
  thresholds: DriftThresholds;
  /** What the drift gate would say publishing `to` over `from` (no --allow-drift; gates.allow_empty as configured); empty: it would pass. */
  blocked: string[];
}

export async function diffArtifacts(req: DiffRequest): Promise<DiffResult> {
  if ((req.from === 'staged' || req.to === 'staged') && req.day === undefined) {
    throw usageError('--day: required with "staged" (it picks the staged window: the window_days days ending that day)');
  }
  const from = await resolveSide(req, req.from, '--from');
  const to = await resolveSide(req, req.to, '--to');
  const thresholds = req.config.gates.drift[req.type];
  const figures = await driftFigures(req.type, thresholds.top_n, from.blob, to.blob);
  return {
    tenant: req.tenant,
    surface: req.surface,
    type: req.type,
    from: from.side,
    to: to.side,
    figures,
    thresholds,
    blocked: evaluateDrift(figures, thresholds, { drift: false, empty: req.config.gates.allow_empty }),
  };
}

async function resolveSide(req: DiffRequest, ref: string, flag: string): Promise<{ side: DiffSide; blob: VersionedBlob }> {
  const { config, tenant, surface, type } = req;
  if (ref === 'staged') {
    const w = dayWindow(req.day as string, config.window_days);
    const key = { tenant, surface, segment: req.segment, type, startDay: w.startDay, endDay: w.endDay };
    const staging = openFolders(config).staging;
    const staged = await readStaged(staging, key);
    const dir = staging.where(stageRel(key));
    if (staged === null)
      throw notFound(`${flag} staged: nothing staged for ${type}, window ${w.startDay}_${w.endDay} (${dir}); run "compute --type ${type}" for ${w.day} first`);
    return { side: { ref, version: staged.version, location: `${dir}/${staged.version}.json` }, blob: { version: staged.version, source: staged.bytes } };
  }
  const { store, registry } = openStorage(config);
  let uri: string;
  if (ref === 'current') {
    const manifest = await registry.readManifest(tenant, surface);
    const current = manifest?.current[type];
    if (current === undefined) throw notFound(`${flag} current: no current ${type} in ${registry.manifestPath(tenant, surface)}: nothing was published yet`);
    uri = current;
  } else {
    const record = await registry.readRecord(tenant, surface, type, ref);
    if (record === null) throw notFound(`${flag} ${ref}: ${type} version ${ref} has no registry record at ${registry.recordPath(tenant, surface, type, ref)}`);
    uri = record.uri;
  }
  const version = versionOfUri(uri);
  return { side: { ref, version, location: uri }, blob: { version, source: await store.get(uri) } };
}
