import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LocalHost } from '../../src/host/local.js';
import { currentOsUser, lookupOsUser, runsAsRoot } from '../../src/host/osUser.js';
import { installedPgBinDirs, pgTool } from '../../src/host/pgBinaries.js';
import { describeHostConformance } from '../../test-support/hostConformance.js';

/** Runs as this process's own user: no switching, so temp files are simply ours. */
const host = new LocalHost({ osUser: currentOsUser().name });

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'local-host-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describeHostConformance('LocalHost', {
  make: (options = {}) => new LocalHost({ osUser: currentOsUser().name, ...options }),
  scratch: () => scratch,
});

describe('LocalHost only', () => {
  test('a command that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
    const impatient = new LocalHost({ osUser: currentOsUser().name, killGraceMs: 300 });
    const controller = new AbortController();
    const started = Date.now();
    // exec replaces the shell by sleep, so the ignored SIGTERM is sleep's own and no grandchild holds the pipes.
    const run = impatient.exec(['sh', '-c', 'trap "" TERM; exec sleep 30'], { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test('returns even when a grandchild keeps the output pipe open (pg_ctl start without -l)', async () => {
    const started = Date.now();
    const result = await host.exec(['sh', '-c', 'sleep 5 & echo started']);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'started\n' });
    expect(Date.now() - started).toBeLessThan(4_500);
  });
});

describe('who commands run as', () => {
  test.runIf(runsAsRoot())('as root, commands run as postgres by default, with postgres\'s HOME', async () => {
    const asPostgres = new LocalHost();
    expect(asPostgres.description).toBe('local host (as user postgres)');
    const result = await asPostgres.exec(['sh', '-c', 'id -un; echo "$HOME"; pwd']);
    const home = lookupOsUser('postgres').home;
    expect(result.stdout).toBe(`postgres\n${home}\n${home}\n`);
  });

  test.runIf(!runsAsRoot())('as a normal user, commands run as that user', async () => {
    const result = await new LocalHost().exec(['id', '-un']);
    expect(result.stdout.trim()).toBe(currentOsUser().name);
  });

  test('an OS user that does not exist is HOST_COMMAND_FAILED, for every way of running', async () => {
    const nobodyHere = new LocalHost({ osUser: 'no_such_user_xyz' });
    await expect(nobodyHere.exec(['true'])).rejects.toMatchObject({ code: 'HOST_COMMAND_FAILED', message: expect.stringContaining('no_such_user_xyz') });
    await expect(nobodyHere.execStream(['true']).done).rejects.toMatchObject({ code: 'HOST_COMMAND_FAILED' });
    await expect(nobodyHere.execSink(['true']).done).rejects.toMatchObject({ code: 'HOST_COMMAND_FAILED' });
  });
});

describe('pgTool', () => {
  test('an explicit bin directory wins (PG_BIN_DIR)', () => {
    expect(pgTool('psql', { binDir: '/opt/pg/bin/' })).toBe('/opt/pg/bin/psql');
  });

  test('otherwise the newest versioned installation that has the program, else the bare name for PATH', () => {
    const newest = installedPgBinDirs()[0];
    if (newest) expect(pgTool('pg_basebackup')).toBe(join(newest.binDir, 'pg_basebackup'));
    expect(pgTool('pg_no_such_program_xyz')).toBe('pg_no_such_program_xyz');
  });

  test('a LocalHost resolves PostgreSQL programs the same way', () => {
    expect(new LocalHost({ pgBinDir: '/opt/pg/bin' }).pgTool('pg_ctl')).toBe('/opt/pg/bin/pg_ctl');
  });
});
