import { BackupError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { BackupMetadata } from '../types/metadata.js';
import { isBackupId, parseBackupId } from './backupId.js';
import { BACKUPS_PREFIX, metadataKey } from './layout.js';

/**
 * The backup catalog. The repository is the only source of truth: no local state, so every
 * machine (CLI from cron, the API, a laptop) sees the same backups.
 */

export async function writeMetadata(storage: Storage, metadata: BackupMetadata): Promise<void> {
  const valid = BackupMetadata.parse(metadata);
  await storage.put(metadataKey(valid.id), Buffer.from(`${JSON.stringify(valid, null, 2)}\n`));
}

export async function readMetadata(storage: Storage, id: string): Promise<BackupMetadata> {
  parseBackupId(id);
  let text: string;
  try {
    text = (await readSmallObject(storage, metadataKey(id))).toString('utf8');
  } catch (error) {
    if (error instanceof BackupError && error.code === 'OBJECT_NOT_FOUND') {
      throw new BackupError('BACKUP_NOT_FOUND', `No backup "${id}" in ${storage.location}.`, 'Run `llm-analytics database list-backups` to see the backups there.');
    }
    throw error;
  }
  return parseMetadata(text, `${storage.location}/${metadataKey(id)}`);
}

export function parseMetadata(text: string, where: string): BackupMetadata {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BackupError('METADATA_INVALID', `${where} is not valid JSON.`, 'The metadata object is damaged; the backup cannot be trusted.');
  }
  const result = BackupMetadata.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.join('.') || '(root)';
    throw new BackupError('METADATA_INVALID', `${where} does not match the metadata schema: ${path}: ${issue?.message}.`, 'The metadata object is damaged or from a newer version of this tool.');
  }
  return result.data;
}

/** Ids of every backup in the repository, newest first (by the time inside the id). */
export async function listBackupIds(storage: Storage): Promise<string[]> {
  const ids: string[] = [];
  for await (const object of storage.list(BACKUPS_PREFIX)) {
    const match = /^backups\/([^/]+)\/backup\.json$/.exec(object.key);
    if (match && isBackupId(match[1]!)) ids.push(match[1]!);
  }
  return ids.sort(compareIdsNewestFirst);
}

export function compareIdsNewestFirst(a: string, b: string): number {
  const byTime = parseBackupId(b).time.getTime() - parseBackupId(a).time.getTime();
  return byTime !== 0 ? byTime : b.localeCompare(a);
}

export interface ListOptions {
  database?: string;
  limit?: number;
}

/**
 * Reads the metadata of the backups (newest first), filtered by database. A damaged metadata
 * object does not hide the others: it is reported as a Failed entry with its error.
 */
export async function listBackups(storage: Storage, options: ListOptions = {}): Promise<BackupMetadata[]> {
  let ids = await listBackupIds(storage);
  if (options.database) {
    const database = options.database.toLowerCase();
    ids = ids.filter((id) => parseBackupId(id).database === database);
  }
  if (options.limit !== undefined) ids = ids.slice(0, options.limit);
  return mapBounded(ids, 16, (id) => readMetadata(storage, id));
}

/** The newest backup a restore can start from (Completed or Verified). */
export async function newestRestorableBackup(storage: Storage, database: string): Promise<BackupMetadata> {
  for (const metadata of await listBackups(storage, { database })) {
    if (isRestorable(metadata)) return metadata;
  }
  throw new BackupError('NO_BACKUPS', `No completed backup of database "${database}" in ${storage.location}.`, 'Take one with `llm-analytics database backup`, or pass --backup-id.');
}

export function isRestorable(metadata: BackupMetadata): boolean {
  return metadata.status === 'Completed' || metadata.status === 'Verified';
}

async function readSmallObject(storage: Storage, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await storage.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function mapBounded<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}
