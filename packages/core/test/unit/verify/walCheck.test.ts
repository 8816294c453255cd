import { describe, expect, it } from 'vitest';
import { restorableWindow, segmentRange, type ArchivedSegment } from '../../../src/catalog/walArchive.js';
import type { BackupMetadata } from '../../../src/types/metadata.js';
import { judgeWal } from '../../../src/verify/walCheck.js';

const backup = {
  startWalSegment: '000000010000000000000002', endWalSegment: '000000010000000000000003', endTime: '2026-11-25T12:01:00.000Z',
} as BackupMetadata;
const prefix = 'wal/7000000000000000001/';

function archive(names: string[]): Map<string, ArchivedSegment> {
  return new Map(names.map((name, index) => [name, { name, key: `${prefix}${name}.zst`, size: 100, lastModified: new Date(Date.parse('2026-11-25T12:02:00Z') + index * 60_000) }]));
}
const seg = (n: number) => `0000000100000000000000${n.toString(16).toUpperCase().padStart(2, '0')}`;

describe('judgeWal', () => {
  it('warns when the archive is empty and the tar carries the segments the backup needs', () => {
    const result = judgeWal(backup, archive([]), [seg(2), seg(3)], prefix);
    expect(result.consistency).toMatchObject({ status: 'warn' });
    expect(result.consistency.message).toContain('self-contained');
    expect(result.pitr).toMatchObject({ status: 'warn' });
  });

  it('fails when the archive is empty and the tar lacks a needed segment', () => {
    expect(judgeWal(backup, archive([]), [seg(2)], prefix).consistency).toMatchObject({ status: 'fail' });
  });

  it('fails consistency, naming the object, when the archive has WAL but not a segment the backup needs', () => {
    const result = judgeWal(backup, archive([seg(2), seg(4)]), [seg(2), seg(3)], prefix);
    expect(result.consistency).toMatchObject({ status: 'fail' });
    expect(result.consistency.message).toContain(`${prefix}${seg(3)} is missing`);
  });

  it('passes both and reports the window through the last unbroken segment', () => {
    const result = judgeWal(backup, archive([seg(1), seg(2), seg(3), seg(4), seg(5)]), undefined, prefix);
    expect(result.consistency).toMatchObject({ status: 'pass' });
    expect(result.pitr).toMatchObject({ status: 'pass' });
    expect(result.window).toMatchObject({ from: backup.endTime, lastSegment: seg(5), toLsn: '0/6000000', to: '2026-11-25T12:06:00.000Z' });
  });

  it('fails PITR at the first gap after the backup when newer segments exist', () => {
    const result = judgeWal(backup, archive([seg(2), seg(3), seg(4), seg(6)]), undefined, prefix);
    expect(result.consistency).toMatchObject({ status: 'pass' });
    expect(result.pitr).toMatchObject({ status: 'fail' });
    expect(result.pitr.message).toContain(`${prefix}${seg(5)} is missing: the chain breaks after ${seg(4)}`);
  });
});

describe('restorableWindow and segmentRange', () => {
  it('lists the segments between two names across a log boundary', () => {
    expect(segmentRange('0000000100000000000000FE', '000000010000000100000001')).toEqual(['0000000100000000000000FE', '0000000100000000000000FF', '000000010000000100000000', '000000010000000100000001']);
  });

  it('has no window when the archive lacks the WAL from the backup start to its end', () => {
    expect(restorableWindow(backup, archive([seg(3), seg(4)]))).toBeUndefined();
  });
});
