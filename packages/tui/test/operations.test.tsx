import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { BackupError } from '@llm-analytics/core';
import { App } from '../src/App.js';
import type { TuiDeps } from '../src/deps.js';
import { fakeDeps, frameWhere, frameWith, KEY, makeBackup, makeCatalog, press } from './fixtures.js';

const size = { columns: 80, rows: 24 };
let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

async function start(overrides: Partial<TuiDeps> = {}) {
  const { deps, calls } = fakeDeps(makeCatalog(3), overrides);
  const app = render(<App deps={deps} size={size} />);
  cleanup = app.unmount;
  await frameWith(app.lastFrame, '3 backups');
  return { ...app, calls };
}

describe('backup screen', () => {
  it('starts a backup only after Enter and shows its progress and result', async () => {
    const backup: TuiDeps['backup'] = async (progress) => {
      progress({ phase: 'upload', bytes: 3 * 1024 * 1024, totalBytes: 4 * 1024 * 1024 });
      progress({ phase: 'backup', message: 'Backup uploaded' });
      return makeBackup(0, { id: 'backup-llm_analytics-20261125T120000Z-fresh1' });
    };
    const { lastFrame, stdin } = await start({ backup });
    await press(stdin, 'b');
    await frameWith(lastFrame, 'Press Enter to start a full backup');
    await press(stdin, KEY.enter);
    const frame = await frameWith(lastFrame, 'backup-llm_analytics-20261125T120000Z-fresh1 Completed');
    expect(frame).toMatch(/upload\s+█+░+\s+75%\s+3\.0 MB/);
    expect(frame).toContain('Backup uploaded');
  });

  it('shows a failed backup as the core error with its hint', async () => {
    const backup = async () => {
      throw new BackupError('DATABASE_UNREACHABLE', 'Cannot connect to PostgreSQL at 127.0.0.1:5432.', 'Check PGHOST/PGPORT.');
    };
    const { lastFrame, stdin } = await start({ backup });
    await press(stdin, 'b', KEY.enter);
    const frame = await frameWith(lastFrame, 'DATABASE_UNREACHABLE');
    expect(frame).toContain('hint: Check PGHOST/PGPORT.');
  });
});

describe('verify screen', () => {
  it('says verification is not available when no verify engine is wired in', async () => {
    const { lastFrame, stdin } = await start();
    await press(stdin, 'v');
    await frameWith(lastFrame, 'Verification is not available in this build');
    await press(stdin, KEY.escape);
    await frameWith(lastFrame, '3 backups');
  });

  it('fills the check table as the checks finish and reports the result', async () => {
    let verifiedId = '';
    const verify: NonNullable<TuiDeps['verify']> = async (id, progress, _signal, onCheck) => {
      verifiedId = id;
      progress({ phase: 'download', bytes: 100, totalBytes: 100 });
      const checks = [
        { name: 'stored sha256', status: 'pass' as const, message: 'matches backup.json' },
        { name: 'backup_manifest', status: 'pass' as const, message: '1234 files checked' },
      ];
      for (const check of checks) onCheck(check);
      return { valid: true, checks };
    };
    const { lastFrame, stdin } = await start({ verify });
    await press(stdin, 'j', 'v', KEY.enter);
    const frame = await frameWith(lastFrame, 'Backup is valid');
    expect(frame).toMatch(/pass\s+stored sha256\s+matches backup.json/);
    expect(frame).toMatch(/pass\s+backup_manifest\s+1234 files checked/);
    expect(verifiedId).toBe(makeCatalog(3)[1]!.id);
  });
});

describe('quitting', () => {
  it('q in the catalog ends the app', async () => {
    const { stdin, lastFrame, frames } = await start();
    await press(stdin, 'q');
    const count = frames.length;
    await press(stdin, 'j');
    expect(frames.length).toBe(count);
    expect(lastFrame()).toContain('3 backups');
  });
});

describe('a crash inside a screen', () => {
  it('shows an error panel instead of a stack trace', async () => {
    const { deps } = fakeDeps([makeBackup(0, { verification: { time: 'x', valid: true, checks: null as never } })]);
    const app = render(<App deps={deps} size={size} />);
    cleanup = app.unmount;
    await frameWith(app.lastFrame, '1 backups');
    await press(app.stdin, KEY.enter, ...Array<string>(15).fill('j'));
    const frame = await frameWhere(app.lastFrame, (f) => f.includes('Error [INTERNAL]'));
    expect(frame).not.toMatch(/at \w+ \(/);
  });
});
