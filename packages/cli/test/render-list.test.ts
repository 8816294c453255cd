import { describe, expect, it } from 'vitest';
import type { BackupMetadata } from '@llm-analytics/core';
import { renderChain } from '../src/render/list.js';

function backup(id: string, type: BackupMetadata['type'], parentId?: string, endLsn = '0/3000000'): BackupMetadata {
  return {
    formatVersion: 1, id, database: 'llm_analytics', type, status: 'Completed', parentId, startTime: '2026-11-25T10:00:00Z',
    startLsn: '0/2000028', endLsn, timeline: 1, location: '/repo', compression: 'zstd', encrypted: false,
    sizeBytes: 1, storedSizeBytes: 1, objects: [], retentionDays: 30,
  };
}

describe('the backup chain in list-backups', () => {
  it('draws each restore point under the full backup it replays WAL from, with its WAL range', () => {
    const full = 'backup-llm_analytics-20261125T100000Z-aaaaaa';
    const incremental = 'backup-llm_analytics-20261125T110000Z-bbbbbb';
    const differential = 'backup-llm_analytics-20261125T120000Z-cccccc';
    const lines = renderChain([backup(differential, 'Differential', full, '0/7000000'), backup(incremental, 'Incremental', full, '0/5000000'), backup(full, 'Full')]);
    expect(lines).toEqual([
      `${full}  Full  WAL 0/2000028 → 0/3000000 (timeline 1)`,
      `└─ ${differential}  Differential  WAL 0/2000028 → 0/7000000 (timeline 1)`,
      `└─ ${incremental}  Incremental  WAL 0/2000028 → 0/5000000 (timeline 1)`,
    ]);
  });

  it('shows a restore point whose parent is not listed (--limit) as its own root', () => {
    const lines = renderChain([backup('backup-llm_analytics-20261125T110000Z-bbbbbb', 'Incremental', 'backup-llm_analytics-20261125T100000Z-aaaaaa')]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^backup-llm_analytics-20261125T110000Z-bbbbbb {2}Incremental/);
  });
});
