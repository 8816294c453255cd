import { BackupError } from '../errors.js';
import { parseBackupLabel } from '../postgres/backupLabel.js';
import { manifestWalRange, parseManifest } from '../postgres/manifest.js';
import { lastWalSegmentBefore, walSegmentName } from '../postgres/lsn.js';
import type { TarWalker } from '../tar/tarWalker.js';

export interface BackupStreamFacts {
  startLsn: string;
  endLsn: string;
  timeline: number;
  startWalSegment: string;
  endWalSegment: string;
}

/** Reads the WAL range of a finished backup from the backup_manifest pg_basebackup put in its tar. */
export function describeBackupStream(walker: TarWalker): BackupStreamFacts {
  const manifestBytes = walker.captured.get('backup_manifest');
  const labelBytes = walker.captured.get('backup_label');
  if (!manifestBytes || !labelBytes) {
    throw new BackupError('DATA_CORRUPT', 'pg_basebackup produced no backup_manifest or backup_label in its tar stream.', 'Use pg_basebackup from PostgreSQL 13 or newer.');
  }
  const manifest = parseManifest(manifestBytes.toString('utf8'));
  const label = parseBackupLabel(labelBytes.toString('utf8'));
  const range = manifestWalRange(manifest);
  return {
    startLsn: range.startLsn,
    endLsn: range.endLsn,
    timeline: range.timeline,
    startWalSegment: label.startWalFile ?? walSegmentName(range.startTimeline, range.startLsn),
    // The end LSN points just past the last record: on a segment boundary that record is in the
    // segment before it.
    endWalSegment: lastWalSegmentBefore(range.timeline, range.endLsn),
  };
}
