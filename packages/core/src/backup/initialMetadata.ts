import type { Host } from '../host/host.js';
import type { Storage } from '../storage/storage.js';
import type { BackupError } from '../errors.js';
import type { BackupMetadata } from '../types/metadata.js';
import { BACKUP_FORMAT_VERSION } from '../types/metadata.js';
import type { BackupOptions } from './backup.js';
import type { SourceFacts } from './sourceFacts.js';

/**
 * backup.json through a backup's life: InProgress as it starts (what every backup type records of
 * its source), then Completed or Failed.
 */
export function initialMetadata(
  id: string,
  options: BackupOptions,
  source: SourceFacts,
  storage: Storage,
  host: Host,
  started: Date,
  encrypted: boolean,
): BackupMetadata {
  const { config } = options;
  return {
    formatVersion: BACKUP_FORMAT_VERSION,
    id,
    database: config.database,
    type: options.type,
    status: 'InProgress',
    startTime: started.toISOString(),
    postgresVersion: source.server.version,
    postgresVersionNum: source.server.versionNum,
    systemIdentifier: source.server.systemIdentifier ?? undefined,
    timescaledbVersion: source.server.timescaledbVersion,
    source: host.description,
    location: storage.location,
    compression: config.compression,
    encrypted,
    sizeBytes: 0,
    storedSizeBytes: 0,
    objects: [],
    retentionDays: config.retentionDays,
    tableCount: source.stats.tableCount,
    databaseSizeBytes: source.stats.databaseSizeBytes,
    hypertableCount: source.stats.hypertableCount ?? undefined,
  };
}

/** The status fields of a backup that finished: endTime and duration measured from its start. */
export function completedStatus(metadata: BackupMetadata, ended: Date): Pick<BackupMetadata, 'status' | 'endTime' | 'durationSeconds'> {
  return { status: 'Completed', endTime: ended.toISOString(), durationSeconds: (ended.getTime() - Date.parse(metadata.startTime)) / 1000 };
}

/** backup.json of a backup that failed: it keeps what was known, with the error that ended it. */
export function failedMetadata(metadata: BackupMetadata, error: BackupError, at: Date): BackupMetadata {
  return { ...metadata, status: 'Failed', endTime: at.toISOString(), error: { code: error.code, message: error.message } };
}
