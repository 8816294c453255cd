import type { PgConnection } from '../config/resolve.js';
import type { Host } from '../host/host.js';
import { databaseStats } from '../postgres/sql.js';
import type { BackupMetadata } from '../types/metadata.js';

export interface RestoreValidation {
  valid: boolean;
  tableCount: number;
  expectedTableCount?: number;
  databaseSizeBytes: number;
  expectedDatabaseSizeBytes?: number;
  hypertableCount?: number | null;
  problems: string[];
}

/**
 * Connects to the restored server and compares it with what the backup recorded about its source:
 * the same number of tables. The size is reported, not compared exactly: a physical copy has the
 * same pages, but a few may be rewritten while the backup ran.
 */
export async function validateRestore(host: Host, connection: PgConnection, metadata: BackupMetadata, database: string, binDir?: string): Promise<RestoreValidation> {
  const stats = await databaseStats(host, connection, database, { binDir });
  const problems: string[] = [];
  if (metadata.tableCount !== undefined && stats.tableCount !== metadata.tableCount) {
    problems.push(`${stats.tableCount} tables, the backup recorded ${metadata.tableCount}`);
  }
  return {
    valid: problems.length === 0,
    tableCount: stats.tableCount,
    expectedTableCount: metadata.tableCount,
    databaseSizeBytes: stats.databaseSizeBytes,
    expectedDatabaseSizeBytes: metadata.databaseSizeBytes,
    hypertableCount: stats.hypertableCount,
    problems,
  };
}
