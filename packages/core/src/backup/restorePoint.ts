import { newBackupId } from '../catalog/backupId.js';
import { isRestorable, listBackups, writeMetadata } from '../catalog/catalog.js';
import { BackupError, asBackupError } from '../errors.js';
import { compareLsn } from '../postgres/lsn.js';
import { queryRow } from '../postgres/psql.js';
import { noProgress } from '../progress.js';
import type { BackupMetadata } from '../types/metadata.js';
import { listArchivedWal, walChainFrom } from '../wal/walChain.js';
import { findWalObject } from '../wal/walKeys.js';
import type { BackupDeps, BackupOptions, BackupResult } from './backup.js';
import { completedStatus, failedMetadata, initialMetadata } from './initialMetadata.js';
import { readSourceFacts } from './sourceFacts.js';

/** How long an incremental waits for archive_command to store the segment it just closed. */
const ARCHIVE_WAIT_MS = 120_000;

/**
 * Incremental and differential backups, as the specification defines them: restore points over
 * the archived WAL. A named restore point (pg_create_restore_point(<id>)) marks the moment, a WAL
 * switch closes its segment, and once that segment is archived and the chain from the full
 * backup is complete, the metadata (no data object) commits it. An incremental's parent is the
 * previous backup of any type, a differential's the last full; either restores as that full plus
 * WAL replayed to the restore point.
 */
export async function restorePointBackup(options: BackupOptions, deps: BackupDeps): Promise<BackupResult> {
  const { config } = options;
  const { storage, host } = deps;
  const progress = deps.progress ?? noProgress;
  const now = deps.now ?? (() => new Date());
  const messages: string[] = [];
  const say = (message: string) => {
    messages.push(message);
    progress({ phase: 'backup', message });
  };
  await storage.check();
  const source = await readSourceFacts(host, config);
  const systemIdentifier = source.server.systemIdentifier;
  if (!systemIdentifier) throw new BackupError('DATABASE_ERROR', 'Cannot read the server system identifier (pg_control_system()).', 'Connect as a superuser or a member of pg_monitor.');
  const candidates = (await listBackups(storage, { database: config.database })).filter((b) => isRestorable(b) && b.systemIdentifier === systemIdentifier);
  const full = candidates.find((b) => b.type === 'Full');
  if (!full?.endWalSegment) {
    throw new BackupError('NO_BACKUPS', `No completed full backup of "${config.database}" from this server to base a ${options.type.toLowerCase()} backup on.`, 'Take a full backup first (-t full).');
  }
  const parent = options.type === 'Incremental' ? candidates[0]! : full;

  const started = now();
  const id = newBackupId(config.database, started);
  const metadata: BackupMetadata = {
    ...initialMetadata(id, options, source, storage, host, started, config.encryption),
    parentId: parent.id,
    startLsn: parent.endLsn,
    startWalSegment: full.endWalSegment,
    systemIdentifier,
  };
  await writeMetadata(storage, metadata);
  say(`${options.type} backup ${id} started (parent ${parent.id})`);
  try {
    const point = await queryRow<{ lsn: string; segment: string }>(
      host,
      config.connection,
      'postgres',
      `with p as (select pg_create_restore_point('${id}') as lsn), s as (select pg_switch_wal() from p)
       select (select lsn::text from p) as "lsn", (select pg_walfile_name(lsn) from p) as "segment", (select count(*) from s) as "switched"`,
      { binDir: config.pgBinDir },
    );
    say(`Restore point ${id} at LSN ${point.lsn}; waiting for segment ${point.segment} to be archived`);
    await waitUntilArchived(storage, systemIdentifier, point.segment, options.signal);
    const files = await listArchivedWal(storage, systemIdentifier);
    const chain = walChainFrom(files, full.endWalSegment);
    if (!chain.endLsn || compareLsn(chain.endLsn, point.lsn) <= 0) {
      throw new BackupError(
        'WAL_ARCHIVE_INCOMPLETE',
        `The archived WAL from full backup ${full.id} does not reach the restore point ${point.lsn}${chain.firstMissing ? `: segment ${chain.firstMissing} is missing` : ''}.`,
        'Check archive_command (llm-analytics database archive-status), then take a new full backup.',
      );
    }
    const inRange = files.filter((f) => f.fileName >= full.endWalSegment! && f.fileName <= point.segment && f.fileName.length === 24);
    const ended = now();
    const completed: BackupMetadata = {
      ...metadata,
      ...completedStatus(metadata, ended),
      endLsn: point.lsn,
      timeline: Number.parseInt(point.segment.slice(0, 8), 16),
      endWalSegment: point.segment,
      storedSizeBytes: inRange.reduce((sum, f) => sum + f.size, 0),
      sizeBytes: inRange.length * source.server.walSegmentSize,
    };
    await writeMetadata(storage, completed);
    say(`${options.type} backup ${id} completed: WAL ${full.endWalSegment} … ${point.segment} archived without gaps`);
    return { metadata: completed, messages };
  } catch (caught) {
    const error = asBackupError(caught);
    await writeMetadata(storage, failedMetadata(metadata, error, now())).catch(() => {});
    throw error;
  }
}

async function waitUntilArchived(storage: BackupDeps['storage'], systemIdentifier: string, segment: string, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + ARCHIVE_WAIT_MS;
  while (!(await findWalObject(storage, systemIdentifier, segment))) {
    if (signal?.aborted) throw new BackupError('CANCELLED', 'The backup was cancelled.');
    if (Date.now() > deadline) {
      throw new BackupError('WAL_ARCHIVE_INCOMPLETE', `WAL segment ${segment} was not archived within ${ARCHIVE_WAIT_MS / 1000} s.`, "Check archive_mode and archive_command ('llm-analytics database wal-push %p') and the server log.");
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
