/**
 * The history of the current manifest of a (tenant, surface) (docs/contract.md §6): past manifests,
 * the current one, published versions and the audit log of publishes and rollbacks, as
 * `history` prints them.
 */
import type { ArtifactType } from '../artifact-types';
import type { Config } from '../../config/types';
import type { AuditEntry, HistoryEntry, Manifest, RegistryRecord } from '../../io/store/registry';
import { openStorage } from '../../io/store/open';

export interface History {
  tenant: string;
  surface: string;
  manifestPath: string;
  current: Manifest | null;
  /** Replaced manifests, oldest first. */
  history: HistoryEntry[];
  /** Published versions, oldest first. */
  records: RegistryRecord[];
  audit: AuditEntry[];
}

/** Past manifests, the current one, records and audit entries; with `type`, only what concerns it. */
export async function readHistory(config: Config, tenant: string, surface: string, type?: ArtifactType): Promise<History> {
  const { registry } = openStorage(config);
  const current = await registry.readManifest(tenant, surface);
  const history = await registry.listHistory(tenant, surface);
  const records = await registry.listRecords(tenant, surface, type);
  const audit = (await registry.listAudit(tenant, surface)).filter((a) => type === undefined || a.type === type);
  const only = (m: Manifest): Manifest => (type === undefined ? m : { ...m, current: m.current[type] === undefined ? {} : { [type]: m.current[type] } });
  return {
    tenant,
    surface,
    manifestPath: registry.manifestPath(tenant, surface),
    current: current && only(current),
    history: history.map((h) => ({ ...h, manifest: only(h.manifest) })),
    records,
    audit,
  };
}
