import { BackupError } from '../errors.js';
import { isBackupHistoryName, isHistoryFileName, isPartialName, isWalSegmentName } from '../postgres/lsn.js';

/**
 * The files PostgreSQL hands to archive_command and asks restore_command for: segments,
 * timeline `.history` files, `.partial` segments (the end of a timeline a promotion cut) and
 * `.backup` history files. Anything else is refused so a typo never lands in the archive.
 */
export function isArchivableWalName(name: string): boolean {
  return isWalSegmentName(name) || isHistoryFileName(name) || isPartialName(name) || isBackupHistoryName(name);
}

export function assertArchivableWalName(name: string): void {
  if (!isArchivableWalName(name)) {
    throw new BackupError(
      'INVALID_ARGUMENT',
      `"${name}" is not a WAL file name (a segment, .history, .partial or .backup file).`,
      "PostgreSQL passes it: archive_command = '... wal-push %p', restore_command = '... wal-fetch %f %p'.",
    );
  }
}
