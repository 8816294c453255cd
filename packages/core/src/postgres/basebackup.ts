import { join } from 'node:path';
import { BackupError } from '../errors.js';
import { connectionArgs, connectionEnv, type PgConnection } from './connection.js';

export interface BaseBackupOptions {
  /** Directory of the PostgreSQL programs on the host (PG_BIN_DIR). */
  binDir?: string;
  /** The pg_basebackup program itself, e.g. from Host.pgTool; default: from binDir, else PATH. */
  program?: string;
  /** Written into backup_label (LABEL:) and the server log; the backup id. */
  label: string;
  /** Host, port and user; the password is never put in argv (see baseBackupEnv). */
  connection?: PgConnection;
  /** "fast" forces an immediate checkpoint (the backup starts now); "spread" waits for a regular one. */
  checkpoint?: 'fast' | 'spread';
  /** Throttle, in pg_basebackup's --max-rate syntax (e.g. "100M"). */
  maxRate?: string;
}

/**
 * argv for a base backup streamed to stdout as one tar: `-D -` with `-Ft` writes the base tar to
 * stdout and injects backup_manifest into it; that only works with a single tablespace and
 * without a WAL stream beside it, hence `-X fetch` (the WAL needed for consistency is fetched at
 * the end and put into the same tar under pg_wal/). stdout is data, so no --progress/--verbose.
 */
export function baseBackupArgv(options: BaseBackupOptions): string[] {
  // PostgreSQL keeps the label in backup_label, one line, at most MAXPGPATH bytes.
  if (!options.label || /[\r\n]/.test(options.label) || Buffer.byteLength(options.label) >= 1024) {
    throw new BackupError('INVALID_ARGUMENT', 'A backup label must be one line of less than 1024 bytes.');
  }
  const program = options.program ?? (options.binDir ? join(options.binDir, 'pg_basebackup') : 'pg_basebackup');
  return [
    program,
    '--pgdata=-',
    '--format=tar',
    '--wal-method=fetch',
    '--manifest-checksums=SHA256',
    `--checkpoint=${options.checkpoint ?? 'fast'}`,
    '--no-password',
    `--label=${options.label}`,
    ...(options.maxRate ? [`--max-rate=${options.maxRate}`] : []),
    ...connectionArgs(options.connection ?? {}),
  ];
}

/** The environment pg_basebackup needs: the password travels here, never in argv. */
export function baseBackupEnv(connection: PgConnection = {}): Record<string, string> {
  return connectionEnv(connection);
}
