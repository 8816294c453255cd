import type { Compression } from '../types/metadata.js';

/**
 * The repository layout, relative to the repository root (an S3 prefix or a directory):
 *
 *   backups/<id>/backup.json        metadata; written last, its presence with status Completed
 *                                   (or Verified) is the commit of the backup
 *   backups/<id>/base.tar<ext>      the pg_basebackup tar stream, compressed/encrypted in frames
 *   wal/<system-id>/<file><ext>     archived WAL segments, .history, .partial, .backup files of
 *                                   the cluster with that system identifier
 *   locks/<database>.json           who is running a backup of that database (see lock.ts)
 *
 * docs/ARCHITECTURE.md describes the same layout; change both together.
 */
export const BACKUPS_PREFIX = 'backups/';
export const WAL_PREFIX = 'wal/';

export function compressionExtension(compression: Compression): string {
  switch (compression) {
    case 'zstd':
      return '.zst';
    case 'lz4':
      return '.lz4';
    case 'gzip':
      return '.gz';
    case 'none':
      return '';
  }
}

export function storedExtension(compression: Compression, encrypted: boolean): string {
  return compressionExtension(compression) + (encrypted ? '.enc' : '');
}

export function backupDir(id: string): string {
  return `${BACKUPS_PREFIX}${id}/`;
}

export function metadataKey(id: string): string {
  return `${backupDir(id)}backup.json`;
}

export function baseDataKey(id: string, compression: Compression, encrypted: boolean): string {
  return `${backupDir(id)}base.tar${storedExtension(compression, encrypted)}`;
}

export function walDir(systemIdentifier: string): string {
  return `${WAL_PREFIX}${systemIdentifier}/`;
}

export function lockKey(database: string): string {
  return `locks/${database}.json`;
}
