import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, stopClusterAt, trackDataDirectory, type Cluster } from '../../core/test-support/pgCluster.js';
import { clusterTableDigests, loadSampleData, tableDigests, type TableDigest } from '../../core/test-support/sampleData.js';
import { CLI, freePort, runCli, scratchDir } from '../../cli/test/support/runCli.js';
import { runsAsRoot } from '../../core/src/host/osUser.js';
import { TmuxTerminal } from './support/tmux.js';

/**
 * The TUI as an operator uses it: the built `llm-analytics tui` in a real 80×24 terminal (tmux),
 * against a harness PostgreSQL and a local repository with three real backups. Navigate to the
 * second-newest, verify it with a test restore (and cancel a second one with Ctrl-C while its
 * server runs: nothing may be left behind), restore it through the wizard into a new data
 * directory, and compare the restored server's table digests with the source's at the time of
 * that backup. The screens are saved under docs/tui/ for the README.
 */
const DOCS = resolve(import.meta.dirname, '../../../docs/tui');
let cluster: Cluster;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let terminal: TmuxTerminal | undefined;
const backups: { id: string; digests: TableDigest[] }[] = [];

beforeAll(async () => {
  cluster = await startCluster();
  await loadSampleData(cluster, { rows: 5_000 });
  scratch = await scratchDir('tui-e2e-');
  // Test restores run as postgres (the tests run as root) inside this directory.
  await mkdir(`${scratch.path}/verify-scratch`);
  if (runsAsRoot()) await promisify(execFile)('chown', ['postgres', `${scratch.path}/verify-scratch`]);
  for (let round = 0; round < 3; round += 1) {
    // More rows before each backup, so each backup has different digests.
    if (round > 0) await cluster.psql(`INSERT INTO devices SELECT i, 'device-' || i, 'eu-west', now() FROM generate_series(${1000 + round * 100}, ${1049 + round * 100}) i`, 'llm_analytics');
    const made = await runCli(['database', 'backup', '-d', 'llm_analytics', '--no-encryption', '--json'], env());
    expect(made.exitCode, made.stderr).toBe(0);
    backups.push({ id: made.json.id, digests: await clusterTableDigests(cluster) });
    await new Promise((done) => setTimeout(done, 1100)); // ids carry the second: keep them ordered
  }
});

afterAll(async () => {
  await terminal?.kill();
  await cluster?.destroy();
  await scratch?.remove();
});

function env(): Record<string, string> {
  return { ...cluster.env, BACKUP_REPO: `${scratch.path}/repo`, NO_COLOR: '1' };
}

/** What a test restore left in its scratch directory: entries, and processes (a server) working inside it. */
async function leftovers(dir: string): Promise<{ entries: string[]; processes: string[] }> {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'args']);
  // `${dir}/`: the TUI itself names the directory (--scratch-dir), a server names its data directory in it.
  return { entries: await readdir(dir), processes: stdout.split('\n').filter((line) => line.includes(`${dir}/`)) };
}

/**
 * Waits until PostgreSQL runs on a test restore's data directory inside `dir` (its postmaster.pid
 * names a process) and returns the postmaster's PID.
 */
async function serverRunningIn(dir: string): Promise<number> {
  const until = Date.now() + 120_000;
  for (;;) {
    const [entry] = await readdir(dir);
    const pidFile = entry === undefined ? '' : await readFile(`${dir}/${entry}/postmaster.pid`, 'utf8').catch(() => '');
    const pid = Number.parseInt(pidFile.split('\n')[0] ?? '', 10);
    if (pid > 0) return pid;
    if (Date.now() > until) throw new Error(`no test restore server started in ${dir}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

/**
 * Screens go into the docs (with the temporary directory replaced by a stable name) when
 * UPDATE_TUI_SCREENS=1; otherwise into the scratch directory, so a test run leaves the checkout
 * as it was.
 */
async function saveScreen(name: string, screen: string): Promise<void> {
  const text = screen.split(scratch.path).join('/tmp/tui-demo').split('\n').map((line) => line.trimEnd()).join('\n').trimEnd();
  const dir = process.env.UPDATE_TUI_SCREENS === '1' ? DOCS : scratch.path;
  await writeFile(`${dir}/${name}.txt`, `${text}\n`);
}

describe('llm-analytics tui in a real terminal', () => {
  it('restores the second-newest backup through the wizard, and the restored tables equal the source at that backup', async () => {
    const [newest, secondNewest] = [backups[2]!, backups[1]!];
    expect(secondNewest.digests).not.toEqual(newest.digests);
    const short = (id: string) => id.replace(/^backup-llm_analytics-/, '');
    const verifyScratch = `${scratch.path}/verify-scratch`;
    terminal = await TmuxTerminal.start([CLI, 'tui', '--scratch-dir', verifyScratch], { env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/root', TERM: 'xterm-256color', ...env() } });

    const catalog = await terminal.waitFor('3 backups');
    expect(catalog).toMatch(new RegExp(`› ${short(newest.id)}`));
    await terminal.press('j');
    await saveScreen('catalog', await terminal.waitFor(new RegExp(`› ${short(secondNewest.id)}`)));

    await terminal.press('Enter');
    await saveScreen('details', await terminal.waitFor('LSN start → end'));
    // Esc and the next key sent together would read as Alt+key, as in any terminal: wait between.
    await terminal.press('Escape');
    await terminal.waitFor('newest first');
    await terminal.press('?');
    await saveScreen('help', await terminal.waitFor('cycle the sort'));
    await terminal.press('Escape');
    await terminal.waitFor('newest first');
    await terminal.press('v');
    await terminal.waitFor('Press Enter to verify');
    await terminal.press('t');
    await saveScreen('verify-start', await terminal.waitFor('[x] Test restore (t): on'));
    await terminal.press('Enter');
    const verified = await terminal.waitFor(/Backup is (NOT )?valid|Error \[/, 120_000);
    await saveScreen('verify', verified);
    expect(verified).toContain('Backup is valid');
    expect(verified).toMatch(/pass\s+Test restore\s+restored, started and recovered/);
    expect(verified).toContain('Scratch data directory removed');
    expect(await leftovers(verifyScratch)).toEqual({ entries: [], processes: [] });

    // Ctrl-C while the test restore's server runs asks, then cancels; the scratch data goes.
    await terminal.press('Escape');
    await terminal.waitFor('newest first');
    await terminal.waitFor(new RegExp(`› ${short(secondNewest.id)}`));
    await terminal.press('v');
    await terminal.waitFor('Press Enter to verify');
    await terminal.press('t', 'Enter');
    // The server is held (SIGSTOP) until the cancel is confirmed: a small test restore could
    // otherwise finish between Ctrl-C and the answer, and the test would race the verification.
    const postmaster = await serverRunningIn(verifyScratch);
    process.kill(postmaster, 'SIGSTOP');
    try {
      await terminal.press('C-c');
      await terminal.waitFor('Cancel the running verification?');
      await terminal.press('y');
    } finally {
      process.kill(postmaster, 'SIGCONT');
    }
    const cancelled = await terminal.waitFor(/Error \[CANCELLED\]|Backup is/, 60_000);
    await saveScreen('verify-cancelled', cancelled);
    expect(cancelled).toContain('Error [CANCELLED]');
    expect(cancelled).toContain('Scratch data directory removed');
    expect(await leftovers(verifyScratch)).toEqual({ entries: [], processes: [] });

    await terminal.press('Escape');
    await terminal.waitFor('newest first');
    await terminal.waitFor(new RegExp(`› ${short(secondNewest.id)}`));
    await terminal.press('r');
    await terminal.waitFor('Data directory');
    const pgdata = `${scratch.path}/restored`;
    const port = await freePort();
    await terminal.type('relative');
    await saveScreen('restore-form-invalid', await terminal.waitFor('Use an absolute path'));
    await terminal.press('C-u');
    await terminal.type(pgdata);
    await terminal.press('Enter', 'C-u');
    await terminal.type(String(port));
    await terminal.press('Enter', 'Enter');
    await saveScreen('restore-form', await terminal.waitFor(/Recover to time/));
    await terminal.press('Enter');
    await saveScreen('restore-plan', await terminal.waitFor('dry-run plan'));
    await terminal.press('Enter');
    await terminal.waitFor('Type the backup id');
    await terminal.type('not-the-id');
    await terminal.press('Enter');
    await saveScreen('restore-confirm-wrong', await terminal.waitFor('nothing was done'));

    await trackDataDirectory(pgdata).catch(() => {});
    try {
      await terminal.type(secondNewest.id);
      await terminal.press('Enter');
      const done = await terminal.waitFor(/Restore completed|Error \[/, 240_000);
      await saveScreen('restore-done', done);
      expect(done).toContain('Restore completed');
      const restored = await tableDigests(cluster.osHost, { host: '127.0.0.1', port, user: 'postgres' }, 'llm_analytics');
      expect(restored).toEqual(secondNewest.digests);
      expect(restored).not.toEqual(newest.digests);
    } finally {
      await stopClusterAt(pgdata);
    }

    await terminal.press('Escape');
    await terminal.waitFor('3 backups');
    await terminal.resize(120, 30);
    await saveScreen('catalog-wide', await terminal.waitFor(secondNewest.id));
    await terminal.press('q');
    const until = Date.now() + 10_000;
    while ((await terminal.running()) && Date.now() < until) await new Promise((done) => setTimeout(done, 200));
    expect(await terminal.running()).toBe(false);
  });
});
