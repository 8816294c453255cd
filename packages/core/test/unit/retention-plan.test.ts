import { describe, expect, test } from 'vitest';
import { planExpire } from '../../src/retention/expirePlan.js';
import type { BackupMetadata } from '../../src/types/metadata.js';
import type { ArchivedWalFile } from '../../src/wal/walChain.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();

function backup(id: string, ageDays: number, extra: Partial<BackupMetadata> = {}): BackupMetadata {
  return {
    formatVersion: 1,
    id: `backup-db-${id}`,
    database: 'db',
    type: 'Full',
    status: 'Completed',
    startTime: daysAgo(ageDays),
    endTime: daysAgo(ageDays),
    location: 'repo',
    compression: 'zstd',
    encrypted: true,
    sizeBytes: 10,
    storedSizeBytes: 5,
    objects: [{ key: `backups/backup-db-${id}/base.tar.zst.enc`, rawSize: 10, storedSize: 5, sha256: 'a'.repeat(64), frames: [] }],
    retentionDays: 30,
    systemIdentifier: '7',
    startWalSegment: `0000000100000000000000${String(100 - ageDays).padStart(2, '0')}`,
    ...extra,
  };
}
const wal = (names: string[]) => new Map<string, ArchivedWalFile[]>([['7', names.map((fileName) => ({ fileName, key: `wal/7/${fileName}.zst.enc`, size: 3 }))]]);

describe('the expire plan', () => {
  test('deletes backups past their retention and the WAL before the oldest kept backup, keeping history files', () => {
    const plan = planExpire({
      backups: [backup('old', 40), backup('mid', 20), backup('new', 1)],
      wal: wal(['000000010000000000000059', '000000010000000000000059.00000028.backup', '000000010000000000000060', '000000010000000000000080', '00000002.history']),
      now: NOW,
    });
    expect(plan.delete.map((b) => b.id)).toEqual(['backup-db-old']);
    expect(plan.delete[0]!.dataKeys).toEqual(['backups/backup-db-old/base.tar.zst.enc']);
    expect(plan.walKeptFrom).toEqual({ '7': '000000010000000000000080' });
    expect(plan.deleteWal.map((f) => f.fileName)).toEqual(['000000010000000000000059', '000000010000000000000059.00000028.backup', '000000010000000000000060']);
    expect(plan.freedBytes).toBe(5 + 9);
  });

  test('never deletes the newest full backup, however old', () => {
    const plan = planExpire({ backups: [backup('a', 90), backup('b', 60)], wal: wal([]), now: NOW });
    expect(plan.delete.map((b) => b.id)).toEqual(['backup-db-a']);
    expect(plan.keep).toEqual([{ id: 'backup-db-b', reason: 'newest full backup' }]);
  });

  test('keeps an in-progress backup and, while one runs, every WAL file', () => {
    const plan = planExpire({ backups: [backup('full', 50), backup('running', 45, { status: 'InProgress' }), backup('new', 1)], wal: wal(['000000010000000000000001']), now: NOW });
    expect(plan.keep.find((k) => k.id === 'backup-db-running')?.reason).toBe('in progress');
    expect(plan.deleteWal).toEqual([]);
  });

  test('keeps the full backup a kept incremental depends on, and its WAL', () => {
    const plan = planExpire({
      backups: [backup('full', 40), backup('inc', 2, { type: 'Incremental', parentId: 'backup-db-full', objects: [], startWalSegment: '000000010000000000000090' }), backup('newfull', 1)],
      wal: wal(['000000010000000000000059', '000000010000000000000060']),
      now: NOW,
    });
    expect(plan.delete).toEqual([]);
    expect(plan.keep.find((k) => k.id === 'backup-db-full')?.reason).toBe('needed by a kept backup');
    expect(plan.deleteWal.map((f) => f.fileName)).toEqual(['000000010000000000000059']);
  });

  test('deletes an expired failed backup, and honours a shorter --retention-days', () => {
    const plan = planExpire({ backups: [backup('failed', 10, { status: 'Failed' }), backup('ok', 9), backup('new', 1)], wal: wal([]), now: NOW, retentionDays: 5 });
    expect(plan.delete.map((b) => b.id)).toEqual(['backup-db-failed', 'backup-db-ok']);
  });
});
