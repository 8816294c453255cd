import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { BackupError } from '@llm-analytics/core';
import { App } from '../src/App.js';
import type { TuiDeps } from '../src/deps.js';
import { fakeDeps, frameWhere, frameWith, selectionWith, KEY, makeCatalog, press, restoreResult, settle } from './fixtures.js';

const size = { columns: 80, rows: 24 };
let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

async function openWizard(overrides: Partial<TuiDeps> = {}) {
  const backups = makeCatalog(5);
  const { deps, calls } = fakeDeps(backups, overrides);
  const app = render(<App deps={deps} size={size} />);
  cleanup = app.unmount;
  await frameWhere(app.lastFrame, (f) => f.includes('5 backups'));
  await press(app.stdin, 'j', 'r');
  await frameWhere(app.lastFrame, (f) => f.includes('Data directory'));
  return { ...app, calls, backup: backups[1]! };
}

/** Fills the form: data directory, port, database name (kept), and the PITR field if shown. */
async function fillForm(stdin: { write(data: string): void }, pgdata: string, pitr?: string) {
  await press(stdin, pgdata, KEY.enter, KEY.enter, KEY.enter);
  if (pitr !== undefined) await press(stdin, pitr, KEY.enter);
}

const WINDOW = { from: '2026-11-25T10:01:00Z', to: '2026-11-25T11:30:00Z' };

describe('restore wizard', () => {
  it('refuses a relative data directory and does not plan', async () => {
    const { lastFrame, stdin, calls } = await openWizard();
    await press(stdin, 'relative/dir', KEY.enter);
    await frameWith(lastFrame, 'Use an absolute path');
    await press(stdin, KEY.enter, KEY.enter, KEY.enter);
    await settle();
    expect(calls.plan).toHaveLength(0);
  });

  it('refuses a point-in-time target outside the restorable window before anything runs', async () => {
    const { lastFrame, stdin, calls } = await openWizard({ restorableWindow: async () => WINDOW });
    await frameWhere(lastFrame, (f) => f.includes('Restorable window: 2026-11-25T10:01:00Z'));
    await fillForm(stdin, '/srv/pg/restored', '2026-11-25T11:45:00Z');
    await frameWith(lastFrame, 'After the restorable window (ends 2026-11-25T11:30:00Z)');
    await press(stdin, KEY.enter, KEY.enter);
    expect(calls.plan).toHaveLength(0);
    expect(calls.restore).toHaveLength(0);
  });

  it('checks the point-in-time target as it is typed', async () => {
    const { lastFrame, stdin } = await openWizard({ restorableWindow: async () => WINDOW });
    await frameWhere(lastFrame, (f) => f.includes('Restorable window'));
    await press(stdin, '/srv/pg/restored', KEY.enter, KEY.enter, KEY.enter, '2026-11-25T11:');
    await frameWith(lastFrame, 'Type a time with its zone');
    await press(stdin, '00:00Z');
    await frameWith(lastFrame, '2026-11-25T11:00:00Z█');
    expect(lastFrame()).not.toContain('Type a time with its zone');
    expect(lastFrame()).not.toContain('restorable window (');
  });

  it('passes an accepted point-in-time target to the plan', async () => {
    const { lastFrame, stdin, calls } = await openWizard({ restorableWindow: async () => WINDOW });
    await frameWhere(lastFrame, (f) => f.includes('Restorable window'));
    await fillForm(stdin, '/srv/pg/restored', '2026-11-25T11:00:00Z');
    await frameWhere(lastFrame, (f) => f.includes('dry-run plan'));
    expect(calls.plan).toEqual([expect.objectContaining({ pitrTarget: '2026-11-25T11:00:00.000Z' })]);
  });

  it('shows the dry-run plan, and a wrong confirmation restores nothing', async () => {
    const { lastFrame, stdin, calls, backup } = await openWizard();
    await fillForm(stdin, '/srv/pg/restored');
    const plan = await frameWhere(lastFrame, (f) => f.includes('dry-run plan'));
    expect(plan).toContain('/srv/pg/restored (missing)');
    expect(plan).toContain('start PostgreSQL on port 5433, validate');
    await press(stdin, KEY.enter, backup.id.slice(0, -1), KEY.enter);
    await frameWith(lastFrame, 'nothing was done');
    await settle(100);
    expect(calls.restore).toHaveLength(0);
  });

  it('restores after the backup id is typed, with progress and the validation table', async () => {
    const { lastFrame, stdin, calls, backup } = await openWizard();
    await press(stdin, '/srv/pg/restored', KEY.enter, '\x15', '6543', KEY.enter, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, 'copy_db', KEY.enter);
    await frameWhere(lastFrame, (f) => f.includes('dry-run plan'));
    await frameWith(lastFrame, 'llm_analytics renamed to copy_db');
    await press(stdin, KEY.enter, backup.id, KEY.enter);
    const done = await frameWhere(lastFrame, (f) => f.includes('Restore completed'));
    expect(calls.restore).toEqual([{ backupId: backup.id, pgdata: '/srv/pg/restored', port: 6543, targetDatabase: 'copy_db' }]);
    expect(done).toMatch(/tables\s+10\s+10/);
    expect(done).toContain('50%');
  });

  it('shows a planning error (target not empty) with its hint, then lets the user fix the form', async () => {
    const planRestore = async () => {
      throw new BackupError('TARGET_NOT_EMPTY', 'The target directory /srv/pg/used is not empty.', 'Choose an empty or new directory.');
    };
    const { lastFrame, stdin } = await openWizard({ planRestore });
    await fillForm(stdin, '/srv/pg/used');
    const frame = await frameWhere(lastFrame, (f) => f.includes('TARGET_NOT_EMPTY'));
    expect(frame).toContain('hint: Choose an empty or new directory.');
    await press(stdin, KEY.escape);
    await frameWith(lastFrame, 'Data directory');
  });

  it('asks on Ctrl-C during a restore, then cancels it through the AbortSignal', async () => {
    let seenSignal: AbortSignal | undefined;
    const restore: TuiDeps['restore'] = (request, progress, signal) => {
      seenSignal = signal;
      progress({ phase: 'extract', bytes: 10, totalBytes: 1000 });
      return new Promise((resolve, reject) => {
        signal.addEventListener('abort', () => reject(new BackupError('CANCELLED', 'The restore was cancelled.')));
        setTimeout(() => resolve(restoreResult(request.backupId, request.pgdata, request.port)), 60_000).unref();
      });
    };
    const { lastFrame, stdin, backup } = await openWizard({ restore });
    await fillForm(stdin, '/srv/pg/restored');
    await frameWhere(lastFrame, (f) => f.includes('dry-run plan'));
    await press(stdin, KEY.enter, 'llm_analytics', KEY.enter);
    await frameWhere(lastFrame, (f) => f.includes('Ctrl-C to cancel'));
    await press(stdin, KEY.ctrlC);
    await frameWith(lastFrame, 'Cancel the running restore?');
    await press(stdin, 'n');
    expect(seenSignal?.aborted).toBe(false);
    await press(stdin, KEY.ctrlC, 'y');
    const frame = await frameWhere(lastFrame, (f) => f.includes('CANCELLED'));
    expect(seenSignal?.aborted).toBe(true);
    expect(frame).toContain('The restore was cancelled.');
    expect(backup.id).toBeTruthy();
  });
});
