import type { ResolvedConfig } from '../config/resolve.js';
import { BackupError } from '../errors.js';
import type { Host } from '../host/host.js';
import { clusterSizeBytes, databaseStats, listDatabases, serverInfo } from '../postgres/sql.js';

export type SourceFacts = Awaited<ReturnType<typeof readSourceFacts>>;

/** What the backup records about its source, read before pg_basebackup starts. */
export async function readSourceFacts(host: Host, config: ResolvedConfig) {
  const databases = await listDatabases(host, config.connection, { binDir: config.pgBinDir });
  if (!databases.includes(config.database)) {
    throw new BackupError(
      'INVALID_ARGUMENT',
      `Database "${config.database}" does not exist on the server (it has: ${databases.join(', ')}).`,
      'Pass the database to back up with -d/--database.',
    );
  }
  const server = await serverInfo(host, config.connection, { binDir: config.pgBinDir, database: config.database });
  const stats = await databaseStats(host, config.connection, config.database, { binDir: config.pgBinDir });
  const clusterSize = await clusterSizeBytes(host, config.connection, { binDir: config.pgBinDir });
  return { server, stats, clusterSizeBytes: clusterSize };
}
