import type { ResolvedConfig } from '../config/resolve.js';
import type { Host } from '../host/host.js';
import { backupSourceFacts, type BackupSourceFacts } from '../postgres/sql.js';

export type SourceFacts = BackupSourceFacts;

/** What the backup records about its source, read before pg_basebackup starts (one psql run). */
export function readSourceFacts(host: Host, config: ResolvedConfig): Promise<SourceFacts> {
  return backupSourceFacts(host, config.connection, config.database, { binDir: config.pgBinDir });
}
