import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { BackupError } from '../errors.js';

/**
 * pg_control (global/pg_control, 8 KiB) begins with ControlFileData.system_identifier, a uint64
 * in the machine's byte order, followed by pg_control_version (uint32). PostgreSQL runs on
 * little-endian machines in every deployment we support (x86-64, arm64). wal-push runs as
 * archive_command inside the data directory, so it reads this file instead of connecting.
 */
export function parseSystemIdentifier(controlFileStart: Buffer): string {
  if (controlFileStart.length < 12) {
    throw new BackupError('DATA_CORRUPT', `pg_control is too short (${controlFileStart.length} bytes).`, 'Check that this is a PostgreSQL data directory.');
  }
  return controlFileStart.readBigUInt64LE(0).toString();
}

/** pg_control_version (e.g. 1300 for PostgreSQL 13–16): a sanity check that the file is pg_control. */
export function parseControlVersion(controlFileStart: Buffer): number {
  return controlFileStart.readUInt32LE(8);
}

export async function readSystemIdentifier(pgdata: string): Promise<string> {
  const path = join(pgdata, 'global', 'pg_control');
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BackupError(
      'INVALID_ARGUMENT',
      `Cannot read ${path} (${code ?? 'error'}).`,
      code === 'EACCES' ? 'Run as the user that owns the data directory.' : 'Check that this is a PostgreSQL data directory (PGDATA).',
      { cause: error },
    );
  }
  try {
    const buffer = Buffer.alloc(12);
    const { bytesRead } = await handle.read(buffer, 0, 12, 0);
    const start = buffer.subarray(0, bytesRead);
    const version = bytesRead >= 12 ? parseControlVersion(start) : 0;
    // Versions are 3- or 4-digit numbers (942 in 9.6, 1300 since 13); anything else is not pg_control.
    if (version < 900 || version > 9999) {
      throw new BackupError('DATA_CORRUPT', `${path} does not look like pg_control (version field ${version}).`, 'Check that this is a PostgreSQL data directory on a little-endian machine.');
    }
    return parseSystemIdentifier(start);
  } finally {
    await handle.close();
  }
}
