import { randomBytes } from 'node:crypto';
import { BackupError } from '../errors.js';

/**
 * Backup ids are unique and sort by time: `backup-<database>-<YYYYMMDDTHHMMSSZ>-<6 hex>`. The
 * database part is restricted to what PostgreSQL allows unquoted, so an id is always safe as a
 * path segment and an object key.
 */
const BACKUP_ID = /^backup-([a-z_][a-z0-9_$]{0,62})-(\d{8}T\d{6}Z)-([0-9a-f]{6})$/;
const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

export function assertDatabaseName(name: string): void {
  if (!DATABASE_NAME.test(name)) {
    throw new BackupError(
      'INVALID_ARGUMENT',
      `Invalid database name "${name}".`,
      'Use letters, digits, _ and $ only, starting with a letter or _, at most 63 characters.',
    );
  }
}

export function newBackupId(database: string, now: Date = new Date()): string {
  assertDatabaseName(database);
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return `backup-${database.toLowerCase()}-${stamp}-${randomBytes(3).toString('hex')}`;
}

export function isBackupId(text: string): boolean {
  return BACKUP_ID.test(text);
}

export function parseBackupId(text: string): { database: string; time: Date } {
  const match = BACKUP_ID.exec(text);
  if (!match) {
    throw new BackupError(
      'INVALID_BACKUP_ID',
      `"${text}" is not a backup id.`,
      'Backup ids look like backup-llm_analytics-20261125T120000Z-1a2b3c; run list-backups to see them.',
    );
  }
  const stamp = match[2]!;
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`;
  return { database: match[1]!, time: new Date(iso) };
}
