import { describe, expect, test } from 'vitest';
import { walChainFrom, walGaps, type ArchivedWalFile } from '../../src/wal/walChain.js';
import { assertTargetInWindow, pitrWindow } from '../../src/wal/pitrWindow.js';
import { isArchivableWalName } from '../../src/wal/walFileNames.js';
import type { BackupMetadata } from '../../src/types/metadata.js';

const file = (fileName: string, minute = 0): ArchivedWalFile => ({ fileName, key: `wal/1/${fileName}.zst`, size: 100, lastModified: new Date(Date.UTC(2026, 10, 24, 10, minute)) });

describe('the archived WAL chain', () => {
  test('reaches the end of the last segment when every segment from the start is archived', () => {
    const chain = walChainFrom([file('000000010000000000000003', 1), file('000000010000000000000004', 2), file('000000010000000000000005', 3)], '000000010000000000000003');
    expect(chain).toMatchObject({ lastSegment: '000000010000000000000005', endLsn: '0/6000000' });
    expect(chain.firstMissing).toBeUndefined();
    expect(chain.lastArchivedAt?.toISOString()).toBe('2026-11-24T10:03:00.000Z');
  });

  test('stops at a missing segment and names it when later segments exist', () => {
    const chain = walChainFrom([file('000000010000000000000003'), file('000000010000000000000005')], '000000010000000000000003');
    expect(chain).toMatchObject({ lastSegment: '000000010000000000000003', endLsn: '0/4000000', firstMissing: '000000010000000000000004' });
  });

  test('follows only the starting timeline, so a restored copy’s timeline never extends it', () => {
    const chain = walChainFrom([file('000000010000000000000003'), file('000000020000000000000004'), file('00000002.history')], '000000010000000000000003');
    expect(chain.endLsn).toBe('0/4000000');
  });

  test('crosses from seg FF into the next log id', () => {
    const chain = walChainFrom([file('0000000100000000000000FF'), file('000000010000000100000000')], '0000000100000000000000FF');
    expect(chain.endLsn).toBe('1/1000000');
  });

  test('has no end when even the start segment is missing', () => {
    const chain = walChainFrom([file('000000010000000000000007')], '000000010000000000000003');
    expect(chain.endLsn).toBeUndefined();
    expect(chain.firstMissing).toBe('000000010000000000000003');
  });

  test('lists every hole per timeline', () => {
    expect(walGaps([file('000000010000000000000001'), file('000000010000000000000004'), file('000000020000000000000004')])).toEqual(['000000010000000000000002', '000000010000000000000003']);
  });

  test('archives segments, .history, .partial and .backup files and nothing else', () => {
    for (const name of ['000000010000000000000003', '00000002.history', '000000010000000000000003.partial', '000000010000000000000003.00000028.backup']) expect(isArchivableWalName(name)).toBe(true);
    for (const name of ['archive_status', '../etc/passwd', '00000001000000000000003', 'RECOVERYHISTORY']) expect(isArchivableWalName(name)).toBe(false);
  });
});

describe('the PITR window check', () => {
  const backup = { id: 'backup-db-20261124T100000Z-abcdef', endLsn: '0/3000100', endTime: '2026-11-24T10:00:30.000Z', startTime: '2026-11-24T10:00:00.000Z' } as BackupMetadata;
  const window = pitrWindow(backup, walChainFrom([file('000000010000000000000003', 1), file('000000010000000000000004', 5), file('000000010000000000000006', 9)], '000000010000000000000003'));
  const now = new Date('2026-11-24T12:00:00Z');
  const code = (fn: () => void) => {
    try {
      fn();
      return 'accepted';
    } catch (error) {
      return `${(error as { code: string }).code}: ${(error as Error).message}`;
    }
  };

  test('accepts a time and an LSN inside the window', () => {
    expect(code(() => assertTargetInWindow({ kind: 'time', time: new Date('2026-11-24T10:03:00Z') }, window, now))).toBe('accepted');
    expect(code(() => assertTargetInWindow({ kind: 'lsn', lsn: '0/4FFFFFF' }, window, now))).toBe('accepted');
  });

  test('refuses a time before the backup end, naming the restorable window', () => {
    expect(code(() => assertTargetInWindow({ kind: 'time', time: new Date('2026-11-24T09:59:00Z') }, window, now))).toMatch(/^PITR_OUT_OF_RANGE: .*before the backup ended.*from LSN 0\/3000100 .* to LSN 0\/5000000/);
  });

  test('refuses a time after the last archived segment of the unbroken chain and names the missing segment', () => {
    expect(code(() => assertTargetInWindow({ kind: 'time', time: new Date('2026-11-24T10:08:00Z') }, window, now))).toMatch(/after the last archived WAL.*000000010000000000000005 is missing/);
  });

  test('refuses an LSN beyond a gap and a time in the future', () => {
    expect(code(() => assertTargetInWindow({ kind: 'lsn', lsn: '0/6000010' }, window, now))).toMatch(/^PITR_OUT_OF_RANGE/);
    expect(code(() => assertTargetInWindow({ kind: 'time', time: new Date('2026-11-25T00:00:00Z') }, window, now))).toMatch(/in the future/);
  });
});
