import { describe, expect, test } from 'vitest';
import { walFilesToStage } from '../../src/restore/walStaging.js';
import { recoveryConfText } from '../../src/restore/recovery.js';
import type { ArchivedWalFile } from '../../src/wal/walChain.js';
import type { BackupMetadata } from '../../src/types/metadata.js';

const file = (fileName: string): ArchivedWalFile => ({ fileName, key: `wal/1/${fileName}.zst.enc`, size: 100 });
const base = { id: 'backup-db-20261124T100000Z-abcdef', startWalSegment: '000000010000000000000003', endWalSegment: '000000010000000000000004' } as BackupMetadata;
const names = (files: ArchivedWalFile[]) => files.map((f) => f.fileName);

describe('the WAL staged into a pod for recovery', () => {
  test('is every history file and the backup timeline from its start segment through the unbroken chain', () => {
    const archived = ['000000010000000000000002', '000000010000000000000003', '000000010000000000000004', '000000010000000000000005', '000000010000000000000007', '00000002.history', '000000020000000000000005', '000000010000000000000003.00000028.backup'].map(file);
    expect(names(walFilesToStage(archived, base))).toEqual(['000000010000000000000003', '000000010000000000000004', '000000010000000000000005', '00000002.history']);
  });

  test('stops at the segment of an LSN target', () => {
    const archived = ['000000010000000000000003', '000000010000000000000004', '000000010000000000000005', '000000010000000000000006'].map(file);
    expect(names(walFilesToStage(archived, base, { kind: 'lsn', lsn: '0/5000100' }))).toEqual(['000000010000000000000003', '000000010000000000000004', '000000010000000000000005']);
  });

  test('is only the history files when the archive lacks the backup end segment', () => {
    expect(names(walFilesToStage(['000000010000000000000003', '00000002.history'].map(file), base))).toEqual(['00000002.history']);
  });

  test('is read by restore_command = cp from the staged directory, quoted for the shell and the configuration file', () => {
    const text = recoveryConfText({ restoreCommand: "cp '/data/it''s/llm-analytics-wal'/%f %p", inclusive: true });
    expect(text).toContain("restore_command = 'cp ''/data/it''''s/llm-analytics-wal''/%f %p'");
  });
});
