import { listArchivedSegments, restorableWindow, segmentRange, type ArchivedSegment, type RestorableWindow } from '../catalog/walArchive.js';
import { walDir } from '../catalog/layout.js';
import type { Storage } from '../storage/storage.js';
import type { BackupMetadata, VerificationCheck } from '../types/metadata.js';
import { CHECK, fail, pass, skip, warn } from './checks.js';

export interface WalAssessment {
  consistency: VerificationCheck;
  pitr: VerificationCheck;
  window?: RestorableWindow;
}

/**
 * The WAL a restore of this backup needs, in the archive (wal/<system-id>/, wal/walKeys.ts):
 * - for consistency, every segment from the backup's start to its end. pg_basebackup -X fetch
 *   also put those segments into the tar (`walInTar`), so an archive holding no WAL at all is a
 *   warning (the backup restores by itself, but only to its end); an archive that has WAL for this
 *   cluster but lacks one of these segments is a failure (a gap where a chain is expected);
 * - for PITR, the chain on from the backup's end to the newest archived segment, without a gap.
 */
export async function assessWal(metadata: BackupMetadata, storage: Storage, walInTar: readonly string[] | undefined): Promise<WalAssessment> {
  const { systemIdentifier, startWalSegment, endWalSegment } = metadata;
  if (!systemIdentifier || !startWalSegment || !endWalSegment) {
    const why = 'the metadata records no system identifier or WAL segment range';
    return { consistency: skip(CHECK.walConsistency, why), pitr: skip(CHECK.walPitr, why) };
  }
  const archive = await listArchivedSegments(storage, systemIdentifier);
  return judgeWal(metadata, archive, walInTar, walDir(systemIdentifier));
}

/** The judgement itself, pure (unit-tested). */
export function judgeWal(
  metadata: BackupMetadata,
  archive: ReadonlyMap<string, ArchivedSegment>,
  walInTar: readonly string[] | undefined,
  prefix: string,
): WalAssessment {
  const needed = segmentRange(metadata.startWalSegment!, metadata.endWalSegment!);
  const range = `${needed[0]}..${needed[needed.length - 1]}`;
  const inTar = new Set(walInTar ?? []);
  const missingFromTar = walInTar ? needed.filter((name) => !inTar.has(name)) : [];
  if (archive.size === 0) {
    const consistency = walInTar === undefined
      ? warn(CHECK.walConsistency, `${prefix} holds no archived WAL, and the archive could not be read to see whether it carries ${range} itself`)
      : missingFromTar.length === 0
        ? warn(CHECK.walConsistency, `${prefix} holds no archived WAL; the backup is self-contained (pg_wal in the archive holds ${range})`)
        : fail(CHECK.walConsistency, `${prefix} holds no archived WAL and the backup's own pg_wal lacks ${missingFromTar[0]}: it cannot reach consistency`);
    return { consistency, pitr: warn(CHECK.walPitr, `${prefix} holds no archived WAL: restorable only to the backup's end (${metadata.endTime ?? 'unknown'})`) };
  }
  const missing = needed.filter((name) => !archive.has(name));
  if (missing.length > 0) {
    const consistency = fail(CHECK.walConsistency, `${prefix}${missing[0]} is missing from the archive (needed ${range}${missing.length > 1 ? `, ${missing.length} missing` : ''})`);
    return { consistency, pitr: fail(CHECK.walPitr, `no point-in-time restore from this backup: the archive lacks ${prefix}${missing[0]}`) };
  }
  const consistency = pass(CHECK.walConsistency, `${needed.length} segments ${range} archived in ${prefix}`);
  const window = restorableWindow(metadata, archive)!;
  const pitr = window.gapAt
    ? fail(CHECK.walPitr, `${prefix}${window.gapAt} is missing: the chain breaks after ${window.lastSegment}, before the newest archived ${window.newestArchived}`)
    : pass(CHECK.walPitr, `restorable from ${window.from} to ${window.to} (WAL through ${window.lastSegment}, LSN ${window.toLsn})`);
  return { consistency, pitr, window };
}
