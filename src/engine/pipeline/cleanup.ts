/**
 * Clean-up of temporary files that a crashed run left behind (docs/contract.md §6: every file is written
 * to `.<name>.tmp-<pid>-<hex>` in its folder, then renamed into place). Readers already skip
 * such names; these functions delete the ones whose writer process is gone, in exactly the
 * folders the next run writes to, so leftovers do not pile up. Temp files of live processes
 * (another run writing right now) are never touched: see `removeStaleTempFiles`.
 *
 * Called at the start of ingesting a day and of publishing a day; a few `readdir`s each.
 */
import * as path from 'node:path';
import type { Config } from '../../config/types';
import { removeStaleTempFiles } from '../../io/atomic';
import { partitionRel } from '../../io/canonical/partitions';
import { checkpointRel, goCheckpointRel } from '../../io/store/checkpoint';
import { type Folder, openFolders } from '../../io/store/folder';
import { FsObjectStore } from '../../io/store/fs/object-store';
import { FsRegistry } from '../../io/store/fs/registry';
import { stageRel } from '../../io/artifacts/staging';

/** What a publish of one day writes: its artifact types, segment and window (RFC 3339). */
export interface PublishTarget {
  artifactType: string;
  segment: string;
  window: { start: string; end: string };
}

/**
 * Best effort: a folder that cannot be listed (not a folder, no permission) is skipped, as
 * the write that follows reports the problem with its own path.
 */
async function clean(dirs: Iterable<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of new Set(dirs)) {
    const names = await removeStaleTempFiles(dir).catch(() => [] as string[]);
    for (const name of names) removed.push(path.join(dir, name));
  }
  return removed;
}

/** The local folder `relDir` of a shared folder; none on S3, where a PUT leaves no temp object behind. */
function localDirs(folder: Folder, relDir: string): string[] {
  return folder.remote ? [] : [folder.localPath(relDir)];
}

/** Ingest side: the canonical partition folder and the checkpoint folders (ours, the Go tool's) of (tenant, surface). Returns the paths removed. */
export async function removeStaleIngestTemps(config: Config, tenant: string, surface: string, day: string): Promise<string[]> {
  const { canonical, checkpoints } = openFolders(config);
  return clean([
    ...localDirs(canonical, path.posix.dirname(partitionRel(tenant, surface, day))),
    ...localDirs(checkpoints, path.posix.dirname(checkpointRel(tenant, surface, ''))),
    ...localDirs(checkpoints, path.posix.dirname(goCheckpointRel(tenant, surface))),
  ]);
}

/**
 * Publish side: per artifact type its staging window folder, object store folder and
 * registry records folder; plus the manifest, history, audit and lock folders of
 * (tenant, surface). Returns the paths removed.
 */
export async function removeStalePublishTemps(config: Config, tenant: string, surface: string, targets: Iterable<PublishTarget>): Promise<string[]> {
  const store = new FsObjectStore(config.object_store.dir);
  const registry = new FsRegistry(config.registry_dir);
  const dirs = [
    path.dirname(registry.manifestPath(tenant, surface)),
    registry.historyDir(tenant, surface),
    registry.auditDir(tenant, surface),
    path.dirname(registry.lockPath(tenant, surface)),
  ];
  for (const t of targets) {
    const day = (rfc3339: string) => rfc3339.slice(0, 10);
    dirs.push(
      ...localDirs(
        openFolders(config).staging,
        stageRel({ tenant, surface, segment: t.segment, type: t.artifactType, startDay: day(t.window.start), endDay: day(t.window.end) }),
      ),
      path.join(store.root, tenant, surface, t.artifactType),
      path.dirname(registry.recordPath(tenant, surface, t.artifactType, 'v')),
    );
  }
  return clean(dirs);
}
