import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../src/App.js';
import { fakeDeps, frameWhere, frameWith, selectionWith, KEY, makeBackup, makeCatalog, press } from './fixtures.js';

const size = { columns: 80, rows: 24 };
let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function start(backups = makeCatalog(40), overrides = {}) {
  const { deps } = fakeDeps(backups, overrides);
  const app = render(<App deps={deps} size={size} />);
  cleanup = app.unmount;
  return { ...app, backups };
}

const selectedLine = (frame: string) => frame.split('\n').find((line) => line.startsWith('› ')) ?? '';
const shortOf = (id: string) => id.replace(/^backup-[a-z_]+-/, '');

describe('catalog screen', () => {
  it('lists the backups newest first under the statistics line', async () => {
    const { lastFrame, backups } = start();
    const frame = await frameWhere(lastFrame, (f) => f.includes('40 backups'));
    expect(selectedLine(frame)).toContain(shortOf(backups[0]!.id));
    expect(frame).toContain('full 40 / incr 0 / diff 0');
    expect(frame.indexOf(shortOf(backups[0]!.id))).toBeLessThan(frame.indexOf(shortOf(backups[1]!.id)));
  });

  it('renders only the rows that fit an 80×24 terminal, even for 5,000 backups', async () => {
    const { lastFrame, backups } = start(makeCatalog(5000));
    const frame = await frameWhere(lastFrame, (f) => f.includes('5000 backups'));
    const lines = frame.split('\n');
    expect(lines.length).toBeLessThanOrEqual(23);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(80);
    const rows = lines.filter((line) => /\d{8}T\d{6}Z/.test(line));
    expect(rows).toHaveLength(18);
    expect(frame).not.toContain(shortOf(backups[18]!.id));
    expect(lines.at(-1)).toContain('q quit');
  });

  it('moves the selection with j, k and the arrow keys, and jumps with g and G', async () => {
    const { lastFrame, stdin, backups } = start();
    await frameWhere(lastFrame, (f) => f.includes('40 backups'));
    await press(stdin, 'j', 'j', KEY.down);
    await selectionWith(lastFrame, shortOf(backups[3]!.id));
    await press(stdin, 'k', KEY.up);
    await selectionWith(lastFrame, shortOf(backups[1]!.id));
    await press(stdin, 'G');
    await selectionWith(lastFrame, shortOf(backups[39]!.id));
    await frameWith(lastFrame, '40/40');
    await press(stdin, 'g');
    await selectionWith(lastFrame, shortOf(backups[0]!.id));
  });

  it('scrolls the window so the selection stays visible past the last row', async () => {
    const { lastFrame, stdin, backups } = start();
    await frameWhere(lastFrame, (f) => f.includes('40 backups'));
    await press(stdin, ...Array<string>(20).fill('j'));
    const frame = lastFrame()!;
    expect(selectedLine(frame)).toContain(shortOf(backups[20]!.id));
    expect(frame).not.toContain(shortOf(backups[0]!.id));
  });

  it('filters by database with / and clears the filter with Esc', async () => {
    const { lastFrame, stdin, backups } = start();
    await frameWhere(lastFrame, (f) => f.includes('40 backups'));
    await press(stdin, '/', 'db:metrics', KEY.enter);
    const eu = backups.filter((b) => b.database === 'metrics_eu');
    const filtered = await frameWith(lastFrame, `1/${eu.length}`);
    expect(filtered).toContain(`1/${eu.length}`);
    expect(selectedLine(filtered)).toContain(shortOf(eu[0]!.id));
    expect(filtered).not.toContain(shortOf(backups[0]!.id));
    await press(stdin, KEY.escape);
    await frameWith(lastFrame, '1/40');
  });

  it('filters by status and by free text', async () => {
    const { lastFrame, stdin, backups } = start();
    await frameWhere(lastFrame, (f) => f.includes('40 backups'));
    await press(stdin, '/', 'status:fail');
    await frameWith(lastFrame, `1/${backups.filter((b) => b.status === 'Failed').length}`);
    await press(stdin, KEY.escape, '/', shortOf(backups[7]!.id).slice(-6), KEY.enter);
    await frameWith(lastFrame, '1/1');
  });

  it('cycles the sort with s, from newest first to oldest first', async () => {
    const { lastFrame, stdin, backups } = start();
    await frameWhere(lastFrame, (f) => f.includes('40 backups'));
    await press(stdin, 's');
    await frameWith(lastFrame, 'oldest first');
    await selectionWith(lastFrame, shortOf(backups[39]!.id));
    await press(stdin, 's');
    await frameWith(lastFrame, 'largest first');
    await selectionWith(lastFrame, shortOf(backups[39]!.id));
  });

  it('jumps to a row number with :', async () => {
    const { lastFrame, stdin, backups } = start();
    await frameWhere(lastFrame, (f) => f.includes('40 backups'));
    await press(stdin, ':', '25', KEY.enter);
    await selectionWith(lastFrame, shortOf(backups[24]!.id));
    await press(stdin, ':', 'nothing-like-this', KEY.enter);
    await frameWith(lastFrame, 'no backup matches');
  });

  it('opens the details of the selected backup with Enter and comes back with Esc to the same row', async () => {
    const parent = makeBackup(1);
    const child = makeBackup(0, { type: 'Incremental', parentId: parent.id, verification: { time: '2026-11-25T11:30:00Z', valid: true, checks: [{ name: 'checksum', status: 'pass', message: 'sha256 matches' }] } });
    const { lastFrame, stdin } = start([child, parent, makeBackup(2)]);
    await frameWhere(lastFrame, (f) => f.includes('3 backups'));
    await press(stdin, 'j', KEY.enter);
    const details = await frameWith(lastFrame, '0/3000028 → 0/4000100');
    expect(details).toContain(parent.id);
    expect(details).toContain('0/3000028 → 0/4000100');
    expect(details).toContain(`child   ${child.id}`);
    await press(stdin, ...Array<string>(12).fill('j'));
    await frameWith(lastFrame, 'not available in this build');
    await press(stdin, KEY.escape, 'k', KEY.enter);
    await press(stdin, ...Array<string>(12).fill('j'));
    const childDetails = await frameWith(lastFrame, 'sha256 matches');
    expect(childDetails).toContain('pass  checksum');
    expect(childDetails).toContain('sha256 matches');
    await press(stdin, KEY.escape);
    await selectionWith(lastFrame, shortOf(child.id));
  });

  it('draws the restorable window as a time line when the engine provides one', async () => {
    const restorableWindow = async () => ({ from: '2026-11-25T10:01:00Z', to: '2026-11-25T11:59:00Z', walSegments: 12 });
    const { lastFrame, stdin } = start(makeCatalog(3), { restorableWindow });
    await frameWhere(lastFrame, (f) => f.includes('3 backups'));
    await press(stdin, KEY.enter, ...Array<string>(10).fill('j'));
    const frame = await frameWhere(lastFrame, (f) => f.includes('12 WAL segments'));
    expect(frame).toMatch(/├━+┤/);
    expect(frame).toContain('2026-11-25T11:59:00Z');
  });

  it('shows the help with ? and goes back with Esc', async () => {
    const { lastFrame, stdin } = start();
    await frameWhere(lastFrame, (f) => f.includes('40 backups'));
    await press(stdin, '?');
    await frameWith(lastFrame, 'cycle the sort');
    await press(stdin, KEY.escape);
    await frameWith(lastFrame, '40 backups');
  });

  it('shows a storage error as a panel with the core message and hint', async () => {
    const { BackupError } = await import('@llm-analytics/core');
    const loadCatalog = async () => {
      throw new BackupError('STORAGE_ACCESS_DENIED', 'Access denied to s3://bucket/prefix.', 'Check the credentials and the bucket policy.');
    };
    const { lastFrame } = start([], { loadCatalog });
    const frame = await frameWhere(lastFrame, (f) => f.includes('STORAGE_ACCESS_DENIED'));
    expect(frame).toContain('Access denied to s3://bucket/prefix.');
    expect(frame).toContain('hint: Check the credentials and the bucket policy.');
  });

  it('adapts to a resize: a wider terminal shows the full backup ids', async () => {
    const { deps } = fakeDeps(makeCatalog(5));
    const app = render(<App deps={deps} size={size} />);
    cleanup = app.unmount;
    await frameWhere(app.lastFrame, (f) => f.includes('5 backups'));
    expect(app.lastFrame()).not.toContain(makeCatalog(1)[0]!.id);
    app.rerender(<App deps={deps} size={{ columns: 140, rows: 40 }} />);
    await frameWhere(app.lastFrame, (f) => f.includes(makeCatalog(1)[0]!.id));
  });
});
