import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, stopClusterAt, trackDataDirectory, type Cluster } from '../../core/test-support/pgCluster.js';
import { loadSampleData } from '../../core/test-support/sampleData.js';
import { CLI, freePort, runCli, scratchDir } from './support/runCli.js';

/**
 * On a terminal the CLI behaves for a person: it asks before a restore and draws progress on
 * stderr. util-linux `script` gives the CLI a real pseudo-terminal; we type into it.
 */
let cluster: Cluster;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let env: Record<string, string>;

beforeAll(async () => {
  cluster = await startCluster();
  await loadSampleData(cluster, { rows: 200_000 });
  scratch = await scratchDir('cli-tty-');
  env = { ...cluster.env, BACKUP_REPO: join(scratch.path, 'repo') };
  expect((await runCli(['database', 'backup', '--no-encryption', '--json'], env)).exitCode).toBe(0);
});
afterAll(async () => {
  await cluster?.destroy();
  await scratch?.remove();
});

/** Runs the CLI on a pseudo-terminal, typing `input`; returns everything the terminal showed. */
function onTerminal(args: string[], input: string): Promise<{ exitCode: number; screen: string }> {
  const command = [CLI, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', command, '/dev/null'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm', ...env } });
    let screen = '';
    child.stdout.on('data', (chunk) => (screen += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code ?? -1, screen }));
    setTimeout(() => child.stdin.end(input), 1500);
  });
}

describe('on a terminal', () => {
  it('restore asks first, and answering no changes nothing (exit 3)', async () => {
    const target = join(scratch.path, 'declined');
    const { exitCode, screen } = await onTerminal(['database', 'restore', '--pgdata', target], 'n\n');
    expect(screen).toMatch(/Restore backup backup-llm_analytics-\S+ into .*declined .*\? \[y\/N\]/);
    expect(screen).toContain('CONFIRMATION_REQUIRED');
    expect(exitCode).toBe(3);
    expect(await readdir(target).catch(() => [])).toEqual([]);
  });

  it('restore asks first, and answering yes restores', async () => {
    const target = join(scratch.path, 'confirmed');
    await trackDataDirectory(target).catch(() => {});
    const port = await freePort();
    const { exitCode, screen } = await onTerminal(['database', 'restore', '--pgdata', target, '--port', String(port)], 'yes\n');
    await stopClusterAt(target);
    expect(screen).toContain('✓ Restore completed successfully');
    expect(exitCode).toBe(0);
  });

  it('backup draws progress with a rate on stderr, which a script without a terminal never sees', async () => {
    const { exitCode, screen } = await onTerminal(['database', 'backup', '--no-encryption'], '');
    expect(exitCode).toBe(0);
    expect(screen).toMatch(/backup: [\d.]+ (KB|MB|GB)( \/ [\d.]+ (KB|MB|GB))?\s+[\d.]+ (B|KB|MB|GB)\/s/);
    const piped = await runCli(['database', 'backup', '--no-encryption'], env);
    expect(piped.exitCode).toBe(0);
    expect(piped.stderr).toBe('');
  });
});
