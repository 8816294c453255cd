import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { PgConnection, ResolvedConfig } from '../config/resolve.js';
import { BackupError, asBackupError } from '../errors.js';
import type { Host } from '../host/host.js';
import { directoryState, removeTree } from '../host/hostFiles.js';
import { databaseStats, queryRow, tableDigests } from '../postgres/sql.js';
import type { ProgressSink } from '../progress.js';
import { restore } from '../restore/restore.js';
import { serverRunning, stopServer } from '../restore/server.js';
import type { Storage } from '../storage/storage.js';
import type { BackupMetadata, VerificationCheck } from '../types/metadata.js';
import { CHECK, checkFromError, fail, pass } from './checks.js';

export interface TestRestoreReport {
  check: VerificationCheck;
  pgdata: string;
  durationSeconds: number;
  tableCount?: number;
  rowsScanned?: number;
  databaseSizeBytes?: number;
  hypertableCount?: number | null;
  chunkCount?: number | null;
  /** True when nothing was left behind: no directory, no server. */
  cleanedUp: boolean;
}

/**
 * A real restore into a fresh scratch data directory: extracted, started, recovered to
 * consistency, then queried — connects, the table count the backup recorded, every user table
 * read to the end (a full scan reads every page, so a damaged page fails it), TimescaleDB
 * hypertables and chunks counted and the extension's preload checked where present. The
 * directory and the server are removed afterwards whatever happened, also on cancellation.
 */
export async function testRestore(
  metadata: BackupMetadata,
  options: { config: ResolvedConfig; scratchDir?: string; signal?: AbortSignal; /** The data directory itself (a pod of its own: a short path, the socket's limit is 107 bytes). */ pgdata?: string },
  deps: { storage: Storage; host: Host; progress?: ProgressSink },
): Promise<TestRestoreReport> {
  const started = Date.now();
  const pgdata = options.pgdata ?? `${(options.scratchDir ?? tmpdir()).replace(/\/+$/, '')}/llm-analytics-verify-${metadata.id}-${randomBytes(3).toString('hex')}`;
  const report: TestRestoreReport = { check: fail(CHECK.testRestore, 'not run'), pgdata, durationSeconds: 0, cleanedUp: false };
  const binDir = options.config.pgBinDir;
  try {
    const port = await freeLocalPort();
    await restore(
      { config: options.config, backupId: metadata.id, pgdata, port, start: true, force: false, skipValidation: true, signal: options.signal },
      { storage: deps.storage, host: deps.host, progress: deps.progress },
    );
    const connection: PgConnection = { ...options.config.connection, host: '127.0.0.1', port };
    const sql = { binDir, signal: options.signal };
    deps.progress?.({ phase: 'test-restore', message: `Reading every table of the restored server (port ${port})` });
    const stats = await databaseStats(deps.host, connection, metadata.database, sql);
    const digests = await tableDigests(deps.host, connection, metadata.database, sql);
    Object.assign(report, { tableCount: stats.tableCount, databaseSizeBytes: stats.databaseSizeBytes, hypertableCount: stats.hypertableCount, chunkCount: stats.chunkCount });
    report.rowsScanned = digests.reduce((rows, table) => rows + table.rows, 0);
    const problems: string[] = [];
    if (metadata.tableCount !== undefined && stats.tableCount !== metadata.tableCount) problems.push(`${stats.tableCount} tables, the backup recorded ${metadata.tableCount}`);
    if (metadata.hypertableCount !== undefined && stats.hypertableCount !== null && stats.hypertableCount !== metadata.hypertableCount) {
      problems.push(`${stats.hypertableCount} hypertables, the backup recorded ${metadata.hypertableCount}`);
    }
    if (stats.timescaledbVersion !== null) {
      // Without the preload a hypertable silently answers with its uncompressed chunks only.
      const preload = await queryRow<{ libraries: string }>(deps.host, connection, metadata.database, `select current_setting('shared_preload_libraries') as "libraries"`, sql);
      if (!/\btimescaledb\b/.test(preload.libraries)) problems.push('timescaledb is not in shared_preload_libraries of the restored server');
    }
    const timescale = stats.hypertableCount !== null ? `, ${stats.hypertableCount} hypertables / ${stats.chunkCount} chunks` : '';
    const summary = `restored, started and recovered; ${stats.tableCount} tables (${report.rowsScanned} rows) read in full${timescale}`;
    report.check = problems.length ? fail(CHECK.testRestore, `${summary}, but ${problems.join('; ')}`) : pass(CHECK.testRestore, summary);
  } catch (caught) {
    const error = asBackupError(caught);
    const { check } = checkFromError(CHECK.testRestore, error, `the test restore into ${pgdata}`);
    // A table that cannot be read to the end is a corrupt backup, not an unreachable database.
    report.check = error.code === 'DATABASE_ERROR' ? fail(CHECK.testRestore, `the test restore into ${pgdata}: ${error.message}`) : check;
    // The host's CANCELLED names the command it stopped; the operator stopped the test restore.
    if (error.code === 'CANCELLED') throw Object.assign(new BackupError('CANCELLED', 'The verification was cancelled during the test restore.'), { testRestore: report });
  } finally {
    deps.progress?.({ phase: 'test-restore', message: `Stopping the scratch server and removing ${pgdata}` });
    report.cleanedUp = await cleanUp(deps.host, pgdata, binDir);
    report.durationSeconds = (Date.now() - started) / 1000;
    report.check = { ...report.check, message: `${report.check.message} (${report.durationSeconds.toFixed(1)} s${report.cleanedUp ? ', removed afterwards' : `, NOT removed: ${pgdata}`})` };
  }
  return report;
}

async function cleanUp(host: Host, pgdata: string, _binDir?: string): Promise<boolean> {
  if ((await directoryState(host, pgdata).catch(() => 'unknown')) === 'missing') return true;
  if (await serverRunning(host, pgdata).catch(() => false)) await stopServer(host, pgdata).catch(() => undefined);
  await removeTree(host, pgdata).catch(() => undefined);
  return (await directoryState(host, pgdata).catch(() => 'unknown')) === 'missing';
}

function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
