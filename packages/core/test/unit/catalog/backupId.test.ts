import { describe, expect, it } from 'vitest';
import { compareIdsNewestFirst } from '../../../src/catalog/catalog.js';
import { isBackupId, newBackupId, parseBackupId } from '../../../src/catalog/backupId.js';

describe('backup ids', () => {
  it('embed the database and the UTC time, and parse back', () => {
    const id = newBackupId('llm_analytics', new Date('2026-11-25T12:34:56.789Z'));
    expect(id).toMatch(/^backup-llm_analytics-20261125T123456Z-[0-9a-f]{6}$/);
    expect(parseBackupId(id)).toEqual({ database: 'llm_analytics', time: new Date('2026-11-25T12:34:56Z') });
  });

  it('are unique when made in the same second', () => {
    const now = new Date();
    const ids = new Set(Array.from({ length: 200 }, () => newBackupId('db', now)));
    expect(ids.size).toBe(200);
  });

  it('sort newest first, across databases', () => {
    const older = newBackupId('zeta', new Date('2026-01-01T00:00:00Z'));
    const newer = newBackupId('alpha', new Date('2026-06-01T00:00:00Z'));
    expect([older, newer].sort(compareIdsNewestFirst)).toEqual([newer, older]);
  });

  it.each(['', 'backup-abc123', '../backups/x', 'backup-db-20261125T123456Z-1a2b3c/../../x', 'backup-DB-20261125T123456Z-1a2b3c', 'backup-db-20261125T123456Z-1a2b3cd'])(
    'rejects %j with INVALID_BACKUP_ID',
    (text) => {
      expect(isBackupId(text)).toBe(false);
      expect(() => parseBackupId(text)).toThrow(expect.objectContaining({ code: 'INVALID_BACKUP_ID' }));
    },
  );

  it('refuses database names that are not plain identifiers', () => {
    expect(() => newBackupId('bad name')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => newBackupId('a/b')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
