import { createHash } from 'node:crypto';
import { readAll, type Storage, type BackupMetadata } from '@llm-analytics/core';

/** Test helpers that damage a stored backup on purpose, and put it back afterwards. */

export async function readObject(storage: Storage, key: string): Promise<Buffer> {
  return readAll(storage, key);
}

export async function readBackupJson(storage: Storage, id: string): Promise<BackupMetadata> {
  return JSON.parse((await readObject(storage, `backups/${id}/backup.json`)).toString('utf8')) as BackupMetadata;
}

export async function writeBackupJson(storage: Storage, metadata: BackupMetadata): Promise<void> {
  await storage.put(`backups/${metadata.id}/backup.json`, Buffer.from(`${JSON.stringify(metadata, null, 2)}\n`));
}

/**
 * Runs `body` while the objects under `keys` are changed by `damage`, then restores every one of
 * them byte for byte (also when the body fails), so each test starts from the intact backup.
 */
export async function whileDamaged<T>(storage: Storage, keys: readonly string[], damage: () => Promise<void>, body: () => Promise<T>): Promise<T> {
  const originals = new Map<string, Buffer>();
  for (const key of keys) originals.set(key, await readObject(storage, key));
  try {
    await damage();
    return await body();
  } finally {
    for (const [key, bytes] of originals) await storage.put(key, bytes);
  }
}

export function flipByte(bytes: Buffer, offset: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = copy[offset]! ^ 0xff;
  return copy;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Where a member's body starts in an uncompressed tar (ustar headers, as pg_basebackup writes). */
export function tarMemberOffset(tar: Buffer, path: string): { offset: number; size: number } {
  let position = 0;
  while (position + 512 <= tar.length) {
    const header = tar.subarray(position, position + 512);
    if (header.every((byte) => byte === 0)) break;
    const text = (start: number, end: number) => header.subarray(start, end).toString('utf8').replace(/\0.*$/s, '');
    const prefix = text(345, 500);
    const name = (prefix ? `${prefix}/` : '') + text(0, 100);
    const size = parseInt(text(124, 136).trim() || '0', 8);
    if (name.replace(/^\.\//, '') === path) return { offset: position + 512, size };
    position += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${path} is not in the tar`);
}
