import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { BackupError, type VerificationCheck } from '@llm-analytics/core';
import { App } from '../src/App.js';
import type { TuiDeps, VerifyReport, VerifyRequest } from '../src/deps.js';
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

  it('verifies the selected backup without a test restore unless t is pressed, and reports the result', async () => {
    const requests: VerifyRequest[] = [];
    const verify: NonNullable<TuiDeps['verify']> = async (request, progress, _signal, onCheck) => {
      requests.push(request);
      progress({ phase: 'verify', bytes: 100, totalBytes: 100 });
      for (const check of CHECKS.slice(0, 2)) onCheck(check);
      return { valid: true, checks: CHECKS.slice(0, 2) };
    };
    const { lastFrame, stdin } = await start({ verify, scratchDir: '/var/tmp/scratch' });
    await press(stdin, 'j', 'v');
    expect(await frameWith(lastFrame, 'Test restore')).toMatch(/\[ \] Test restore \(t\): off[\s\S]*under \/var\/tmp\/scratch/);
    await press(stdin, KEY.enter);
    const frame = await frameWith(lastFrame, 'Backup is valid');
    expect(frame).toMatch(/pass\s+Objects present\s+backups\/b\/base\.tar\.zst present/);
    expect(frame).toMatch(/pass\s+Metadata\s+backups\/b\/backup\.json is consistent/);
    expect(frame).toContain('without a test restore');
    expect(requests).toEqual([{ backupId: makeCatalog(3)[1]!.id, testRestore: false }]);
  });

  it('passes the test restore through when t switches it on, and says the scratch data was removed', async () => {
    const requests: VerifyRequest[] = [];
    const verify: NonNullable<TuiDeps['verify']> = async (request, _progress, _signal, onCheck) => {
      requests.push(request);
      for (const check of CHECKS) onCheck(check);
      return { valid: true, checks: CHECKS, testRestore: { pgdata: '/var/tmp/scratch/llm-analytics-verify-x-1a2b3c', cleanedUp: true } };
    };
    const { lastFrame, stdin } = await start({ verify, scratchDir: '/var/tmp/scratch' });
    await press(stdin, 'v', 't');
    await frameWith(lastFrame, '[x] Test restore (t): on');
    await press(stdin, 't');
    await frameWith(lastFrame, '[ ] Test restore (t): off');
    await press(stdin, 't', KEY.enter);
    const frame = await frameWith(lastFrame, 'Backup is valid');
    expect(frame).toContain('with a test restore under /var/tmp/scratch');
    expect(frame).toMatch(/pass\s+Test restore\s+restored, started and recovered/);
    expect(frame).toContain('Scratch data directory removed: /var/tmp/scratch/llm-analytics-verify-x-1a2b3c');
    expect(requests).toEqual([{ backupId: makeCatalog(3)[0]!.id, testRestore: true }]);
  });

  it('shows each check row as the engine reports it, before the run ends', async () => {
    const engine = controllableVerify();
    const { lastFrame, stdin } = await start({ verify: engine.verify });
    await press(stdin, 'v', 't', KEY.enter);
    await engine.started;
    engine.report(CHECKS[0]!);
    let frame = await frameWith(lastFrame, 'Objects present');
    expect(frame).not.toContain('Metadata');
    expect(frame).toContain('Running… Ctrl-C to cancel');
    engine.report(CHECKS[1]!);
    frame = await frameWith(lastFrame, 'Metadata');
    expect(frame).not.toContain('Backup is valid');
    expect(frame.indexOf('Objects present')).toBeLessThan(frame.indexOf('Metadata'));
    engine.finish({ valid: true, checks: CHECKS });
    frame = await frameWith(lastFrame, 'Backup is valid');
    expect(frame).toMatch(/pass\s+Test restore/);
  });

  it('asks on Ctrl-C, then cancels the test restore through the AbortSignal and shows that its scratch data was removed', async () => {
    const engine = controllableVerify();
    const { lastFrame, stdin } = await start({ verify: engine.verify });
    await press(stdin, 'v', 't', KEY.enter);
    await engine.started;
    engine.report(CHECKS[0]!);
    await frameWith(lastFrame, 'Objects present');
    await press(stdin, KEY.ctrlC);
    await frameWith(lastFrame, 'Cancel the running verification?');
    await press(stdin, 'n');
    await frameWith(lastFrame, 'Running… Ctrl-C to cancel');
    expect(engine.signal!.aborted).toBe(false);
    await press(stdin, KEY.ctrlC, 'y');
    expect(engine.signal!.aborted).toBe(true);
    // The engine removes the scratch data first, then rejects with CANCELLED carrying its report.
    engine.fail(Object.assign(new BackupError('CANCELLED', 'The operation was cancelled.'), { testRestore: { pgdata: '/tmp/llm-analytics-verify-x-9f9f9f', cleanedUp: true } }));
    const frame = await frameWith(lastFrame, 'Error [CANCELLED]');
    expect(frame).toContain('Scratch data directory removed: /tmp/llm-analytics-verify-x-9f9f9f');
    expect(frame).toMatch(/pass\s+Objects present/);
  });

  it('says a check could not be made rather than calling the backup invalid', async () => {
    const verify: NonNullable<TuiDeps['verify']> = async (_request, _progress, _signal, onCheck) => {
      const checks = [CHECKS[0]!, { name: 'Decrypt & decompress', status: 'skip' as const, message: 'could not check: no key' }];
      checks.forEach((check) => onCheck(check));
      return { valid: false, checks, couldNotCheck: { code: 'ENCRYPTION_KEY_MISSING', message: 'no encryption key is configured.' } };
    };
    const { lastFrame, stdin } = await start({ verify });
    await press(stdin, 'v', KEY.enter);
    const frame = await frameWith(lastFrame, 'Could not check everything [ENCRYPTION_KEY_MISSING]');
    expect(frame).not.toContain('NOT valid');
  });
});

const CHECKS: VerificationCheck[] = [
  { name: 'Objects present', status: 'pass', message: 'backups/b/base.tar.zst present, 300000 bytes as recorded' },
  { name: 'Metadata', status: 'pass', message: 'backups/b/backup.json is consistent with backup_manifest' },
  { name: 'Test restore', status: 'pass', message: 'restored, started and recovered; 10 tables (2200 rows) read in full' },
];

/** A verify engine the test drives: it reports rows and ends when told to, and records its signal. */
function controllableVerify() {
  let onCheck!: (check: VerificationCheck) => void;
  let settle!: { resolve(report: VerifyReport): void; reject(error: unknown): void };
  let started!: () => void;
  const engine = {
    signal: undefined as AbortSignal | undefined,
    started: new Promise<void>((resolve) => (started = resolve)),
    verify: ((_request, _progress, signal, sink) => {
      engine.signal = signal;
      onCheck = sink;
      started();
      return new Promise<VerifyReport>((resolve, reject) => (settle = { resolve, reject }));
    }) as NonNullable<TuiDeps['verify']>,
    report: (check: VerificationCheck) => onCheck(check),
    finish: (report: VerifyReport) => settle.resolve(report),
    fail: (error: unknown) => settle.reject(error),
  };
  return engine;
}

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
