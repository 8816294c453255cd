import { describe, expect, it } from 'vitest';
import { filterBackups, jumpTarget, nextSort, scrollOffset, sortBackups } from '../src/catalogModel.js';
import { fit, formatAge, formatSize, shortId } from '../src/format.js';
import { checkPitrTarget } from '../src/pitr.js';
import { confirmationMatches, formFields, formProblems, namespaceProblem, namespaceRestoreRequest, restoreRequest } from '../src/restoreForm.js';
import { makeBackup, makeCatalog, NOW } from './fixtures.js';

const WINDOW = { from: '2026-11-25T10:00:00Z', to: '2026-11-25T11:00:00Z' };

describe('catalog model', () => {
  it('combines filter terms: every term must match', () => {
    const backups = makeCatalog(30);
    const failedEu = filterBackups(backups, 'db:metrics status:failed');
    expect(failedEu.length).toBeGreaterThan(0);
    expect(failedEu.every((b) => b.database === 'metrics_eu' && b.status === 'Failed')).toBe(true);
    expect(filterBackups(backups, 'no-such-thing')).toEqual([]);
    expect(filterBackups(backups, '  ')).toHaveLength(30);
  });

  it('sorts largest first and cycles back to newest first', () => {
    const backups = makeCatalog(5);
    expect(sortBackups(backups, 'size')[0]).toBe(backups[4]);
    expect(sortBackups(backups, 'oldest')[0]).toBe(backups[4]);
    expect(nextSort('status')).toBe('newest');
  });

  it('moves the window only as far as needed to keep the cursor visible', () => {
    expect(scrollOffset(0, 5, 10, 100)).toBe(0);
    expect(scrollOffset(0, 10, 10, 100)).toBe(1);
    expect(scrollOffset(50, 20, 10, 100)).toBe(20);
    expect(scrollOffset(95, 99, 10, 100)).toBe(90);
  });

  it('jumps to a row number or to text in an id, and reports no match as -1', () => {
    const backups = makeCatalog(10);
    expect(jumpTarget(backups, '3')).toBe(2);
    expect(jumpTarget(backups, '11')).toBe(-1);
    expect(jumpTarget(backups, shortId(backups[7]!.id))).toBe(7);
    expect(jumpTarget(backups, 'zzz')).toBe(-1);
  });
});

describe('PITR target check', () => {
  it('accepts an empty time (end of the backup) and a time inside the window', () => {
    expect(checkPitrTarget('', WINDOW)).toEqual({ ok: true });
    expect(checkPitrTarget('2026-11-25T10:30:00Z', WINDOW)).toEqual({ ok: true, target: '2026-11-25T10:30:00.000Z' });
    expect(checkPitrTarget('2026-11-25T12:30:00+02:00', WINDOW)).toEqual({ ok: true, target: '2026-11-25T10:30:00.000Z' });
  });

  it('refuses times outside the window, without a zone, or when there is no window', () => {
    expect(checkPitrTarget('2026-11-25T09:59:59Z', WINDOW)).toMatchObject({ ok: false, reason: expect.stringContaining('Before the restorable window') });
    expect(checkPitrTarget('2026-11-25T11:00:01Z', WINDOW)).toMatchObject({ ok: false, reason: expect.stringContaining('After the restorable window') });
    expect(checkPitrTarget('2026-11-25T10:30:00', WINDOW)).toMatchObject({ ok: false, reason: expect.stringContaining('with its zone') });
    expect(checkPitrTarget('2026-11-25T10:30:00Z', null)).toMatchObject({ ok: false, reason: expect.stringContaining('not available') });
  });
});

describe('restore form', () => {
  const backup = makeBackup(0);
  const form = { target: 'directory' as const, pgdata: '/srv/pg/restored', namespace: '', port: '5433', database: backup.database, pitr: '' };

  it('is ready with an absolute directory, a port and the backed-up database name', () => {
    expect(formProblems(form, null)).toEqual({});
    expect(restoreRequest(form, backup, null)).toEqual({ backupId: backup.id, pgdata: '/srv/pg/restored', port: 5433 });
  });

  it('names each problem: relative path, port out of range, bad database name', () => {
    expect(Object.keys(formProblems({ ...form, pgdata: 'x', port: '70000', database: '1bad' }, null)).sort()).toEqual(['database', 'pgdata', 'port']);
  });

  it('takes a namespace as a DNS-1123 label: lowercase alphanumerics and -, at most 63', () => {
    expect(namespaceProblem('llm-analytics-staging')).toBeUndefined();
    expect(namespaceProblem('')).toMatch(/Type the target namespace/);
    expect(namespaceProblem('Staging')).toMatch(/Lowercase letters, digits and -/);
    expect(namespaceProblem('staging-')).toMatch(/starting and ending with a letter or digit/);
    expect(namespaceProblem('a.b')).toBeDefined();
    expect(namespaceProblem('a'.repeat(64))).toBe('At most 63 characters (this is 64).');
  });

  it('asks for a namespace instead of a data directory for the namespace target, and carries it in the request', () => {
    const namespaced = { ...form, target: 'namespace' as const, pgdata: '', namespace: 'restore_1', port: '15432' };
    expect(formFields(namespaced, { namespace: true, pitr: false })).toEqual(['target', 'namespace', 'port', 'database']);
    expect(formFields(form, { namespace: false, pitr: true })).toEqual(['pgdata', 'port', 'database', 'pitr']);
    expect(Object.keys(formProblems(namespaced, null))).toEqual(['namespace']);
    expect(namespaceRestoreRequest({ ...namespaced, namespace: 'restore-1', database: 'copy' }, backup, null)).toEqual({ backupId: backup.id, namespace: 'restore-1', localPort: 15432, targetDatabase: 'copy' });
  });

  it('accepts only the exact backup id or database name as confirmation', () => {
    expect(confirmationMatches(backup.id, backup)).toBe(true);
    expect(confirmationMatches(` ${backup.database} `, backup)).toBe(true);
    expect(confirmationMatches(backup.id.slice(0, -1), backup)).toBe(false);
    expect(confirmationMatches('', backup)).toBe(false);
  });
});

describe('formatting', () => {
  it('fits text to a column with an ellipsis and formats sizes and ages', () => {
    expect(fit('llm_analytics', 8)).toBe('llm_ana…');
    expect(fit('ab', 4, 'right')).toBe('  ab');
    expect(formatSize(1536)).toBe('1.5 KB');
    expect(formatAge(new Date(NOW.getTime() - 3 * 86_400_000).toISOString(), NOW)).toBe('3d');
  });
});
