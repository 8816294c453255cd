import { listBackups } from '../catalog/catalog.js';
import { BACKUPS_PREFIX, metadataKey } from '../catalog/layout.js';
import type { Storage } from '../storage/storage.js';
import { WAL_PREFIX } from '../catalog/layout.js';
import { listArchivedWal, type ArchivedWalFile } from '../wal/walChain.js';
import { planExpire, type ExpirePlan } from './expirePlan.js';

export interface ExpireOptions {
  /** Overrides each backup's recorded retention (days). */
  retentionDays?: number;
  database?: string;
}

/** Reads the repository and plans: nothing is deleted. */
export async function planRepositoryExpire(options: ExpireOptions, deps: { storage: Storage; now?: () => Date }): Promise<ExpirePlan> {
  const backups = await listBackups(deps.storage, options.database ? { database: options.database } : {});
  const wal = new Map<string, ArchivedWalFile[]>();
  const systems = new Set<string>();
  for await (const object of deps.storage.list(WAL_PREFIX)) {
    const system = object.key.slice(WAL_PREFIX.length).split('/')[0];
    if (system) systems.add(system);
  }
  // With -d, only WAL of clusters that database's backups came from is considered.
  for (const system of systems) {
    if (options.database && !backups.some((b) => b.systemIdentifier === system)) continue;
    wal.set(system, await listArchivedWal(deps.storage, system));
  }
  return planExpire({ backups, wal, now: (deps.now ?? (() => new Date()))(), retentionDays: options.retentionDays });
}

/**
 * Applies a plan in the order that keeps the repository consistent if interrupted: every expired
 * backup's metadata first (it stops existing), then its data objects, then the WAL nobody needs.
 */
export async function applyExpire(plan: ExpirePlan, deps: { storage: Storage }): Promise<{ deletedBackups: number; deletedWal: number; freedBytes: number }> {
  const { storage } = deps;
  if (plan.delete.length) await storage.delete(plan.delete.map((b) => metadataKey(b.id)));
  for (const backup of plan.delete) {
    const keys: string[] = [...backup.dataKeys];
    for await (const object of storage.list(`${BACKUPS_PREFIX}${backup.id}/`)) if (!keys.includes(object.key)) keys.push(object.key);
    if (keys.length) await storage.delete(keys);
  }
  for (let i = 0; i < plan.deleteWal.length; i += 500) await storage.delete(plan.deleteWal.slice(i, i + 500).map((f) => f.key));
  return { deletedBackups: plan.delete.length, deletedWal: plan.deleteWal.length, freedBytes: plan.freedBytes };
}
