import { describe, expect, it } from 'vitest';
import type { BackupMetadata } from '../../../src/types/metadata.js';
import { frameIndexProblems, metadataProblems } from '../../../src/verify/metadataCheck.js';

const id = 'backup-llm_analytics-20261125T120000Z-1a2b3c';
function metadata(overrides: Partial<BackupMetadata> = {}): BackupMetadata {
  return {
    formatVersion: 1, id, database: 'llm_analytics', type: 'Full', status: 'Completed',
    startTime: '2026-11-25T12:00:00Z', endTime: '2026-11-25T12:01:00Z',
    startLsn: '0/2000028', endLsn: '0/2000100', timeline: 1,
    startWalSegment: '000000010000000000000002', endWalSegment: '000000010000000000000002',
    location: '/repo', compression: 'zstd', encrypted: false, sizeBytes: 300, storedSizeBytes: 100, sha256: 'a'.repeat(64),
    objects: [{ key: `backups/${id}/base.tar.zst`, rawSize: 300, storedSize: 100, sha256: 'a'.repeat(64), frames: [
      { rawOffset: 0, rawLength: 200, storedOffset: 0, storedLength: 60 },
      { rawOffset: 200, rawLength: 100, storedOffset: 60, storedLength: 40 },
    ] }],
    retentionDays: 30,
    ...overrides,
  };
}

describe('metadataProblems', () => {
  it('finds nothing wrong with consistent metadata that agrees with its backup_manifest', () => {
    expect(metadataProblems(metadata(), { startLsn: '0/2000028', endLsn: '0/2000100', timeline: 1 })).toEqual([]);
  });

  it('names LSNs that differ from the backup_manifest', () => {
    expect(metadataProblems(metadata(), { startLsn: '0/2000030', endLsn: '0/2000100', timeline: 1 })).toEqual(["startLsn 0/2000028 differs from backup_manifest's Start-LSN 0/2000030"]);
  });

  it('names sizes and checksums that disagree with the data object', () => {
    expect(metadataProblems(metadata({ sizeBytes: 301, storedSizeBytes: 99, sha256: 'b'.repeat(64) }))).toEqual([
      "sizeBytes 301 differs from the data object's raw size 300",
      "storedSizeBytes 99 differs from the data object's stored size 100",
      `sha256 ${'b'.repeat(64)} differs from the data object's ${'a'.repeat(64)}`,
    ]);
  });

  it('names WAL segments that do not hold the recorded LSNs, and reversed times and LSNs', () => {
    expect(metadataProblems(metadata({ startWalSegment: '000000010000000000000003' }))).toEqual(['startWalSegment 000000010000000000000003 does not hold startLsn 0/2000028 (000000010000000000000002 does)']);
    expect(metadataProblems(metadata({ startLsn: '0/3000000' }))).toEqual(['startLsn 0/3000000 is after endLsn 0/2000100']);
    expect(metadataProblems(metadata({ endTime: '2026-11-25T11:00:00Z' }))).toEqual(['endTime 2026-11-25T11:00:00Z is before startTime 2026-11-25T12:00:00Z']);
  });

  it('names an id of another database, an unfinished status and a wrong data object key', () => {
    const problems = metadataProblems(metadata({ database: 'other', status: 'InProgress', objects: [{ ...metadata().objects[0]!, key: 'elsewhere' }] }));
    expect(problems).toEqual([`id ${id} names database llm_analytics, the metadata says other`, 'status is InProgress, not Completed', `data object key elsewhere is not backups/${id}/base.tar.zst`]);
  });
});

describe('metadataProblems of an incremental restore point (no data object of its own)', () => {
  const point = metadata({
    type: 'Incremental', parentId: 'backup-llm_analytics-20261125T110000Z-0a0b0c', objects: [], sha256: undefined, sizeBytes: 0, storedSizeBytes: 0,
    startLsn: '0/5000100', endLsn: '0/7000200', startWalSegment: '000000010000000000000002', endWalSegment: '000000010000000000000007',
  });

  it('accepts WAL that starts at the full backup end, before its own start LSN', () => {
    expect(metadataProblems(point)).toEqual([]);
  });

  it('names a WAL range that runs backwards', () => {
    expect(metadataProblems({ ...point, startWalSegment: '000000010000000000000008' })).toEqual(['startWalSegment 000000010000000000000008 is after endWalSegment 000000010000000000000007']);
  });
});

describe('frameIndexProblems', () => {
  it('accepts frames that tile the raw stream and the object, also with the encrypted final chunk after them', () => {
    expect(frameIndexProblems(metadata().objects[0]!)).toEqual([]);
    expect(frameIndexProblems({ ...metadata().objects[0]!, storedSize: 120 })).toEqual([]);
  });

  it('names a gap in the frame index', () => {
    const object = metadata().objects[0]!;
    expect(frameIndexProblems({ ...object, frames: [object.frames[0]!, { ...object.frames[1]!, rawOffset: 201 }] })).toEqual([
      'frame 1 starts at raw offset 201, expected 200',
      'the frame index covers 301 raw bytes, the object 300',
    ]);
  });
});
