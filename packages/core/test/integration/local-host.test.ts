import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LocalHost, withLargeStdoutBuffer } from '../../src/host/local.js';
import type { ReadTarget } from '../../src/pipeline/index.js';
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

/** Hands out `size`-byte pieces of one big buffer; asks for a pause every `pauseEvery` reads. */
function memoryTarget(capacity: number, size: number, pauseEvery = 0) {
  const memory = Buffer.alloc(capacity);
  const state = { used: 0, reads: 0, pauses: 0 };
  const target: ReadTarget = {
    space: () => memory.subarray(state.used, Math.min(state.used + size, capacity)),
    filled: (bytes) => {
      state.used += bytes;
      state.reads += 1;
      return pauseEvery === 0 || state.reads % pauseEvery !== 0;
    },
    ready: () => {
      state.pauses += 1;
      return new Promise((resolve) => setTimeout(resolve, 5));
    },
  };
  return { target, state, bytes: () => memory.subarray(0, state.used) };
}

describe('LocalHost.execInto (stdout read straight into memory handed out)', () => {
  test('every byte arrives in order, through small pieces and pauses', async () => {
    const content = randomBytes(3 * 1024 * 1024 + 17);
    const file = join(scratch, 'content.bin');
    await writeFile(file, content);
    const { target, state, bytes } = memoryTarget(content.length + 1024, 10_000, 7);
    const run = await host.execInto(['cat', file], target);
    await expect(run.done).resolves.toEqual({ exitCode: 0, stderr: '' });
    expect(bytes().equals(content)).toBe(true);
    expect(state.pauses).toBeGreaterThan(0);
  });

  test('a failing command: its exit code, stderr and what it printed before', async () => {
    const { target, bytes } = memoryTarget(1024, 1024);
    const run = await host.execInto(['sh', '-c', 'echo partial; echo oops >&2; exit 3'], target);
    await expect(run.done).resolves.toEqual({ exitCode: 3, stderr: 'oops\n' });
    expect(bytes().toString()).toBe('partial\n');
  });

  test('what the target throws stops the command and fails the run with it', async () => {
    const target: ReadTarget = {
      space: () => Buffer.alloc(65_536),
      filled: () => {
        throw new Error('the tar is damaged');
      },
      ready: async () => {},
    };
    const started = Date.now();
    const run = await host.execInto(['yes'], target);
    await expect(run.done).rejects.toThrow('the tar is damaged');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('cancelled through its signal; a missing program is named as such', async () => {
    const controller = new AbortController();
    const { target } = memoryTarget(1024 * 1024, 65_536);
    let reads = 0;
    const endless: ReadTarget = { ...target, space: () => Buffer.alloc(65_536), filled: () => ((reads += 1), true) };
    const run = await host.execInto(['yes'], endless, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(run.done).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(reads).toBeGreaterThan(0);
    const missing = await host.execInto(['/nonexistent/pg_basebackup'], target);
    await expect(missing.done).rejects.toMatchObject({ code: 'HOST_COMMAND_FAILED', message: expect.stringContaining('was not found') });
  });

  test('a program that writes through C stdio runs under stdbuf -o 1M when the machine has stdbuf', () => {
    const hasStdbuf = (process.env.PATH ?? '').split(':').some((directory) => directory && existsSync(join(directory, 'stdbuf')));
    expect(hasStdbuf).toBe(true); // coreutils, installed everywhere these tests run
    const wrapped = withLargeStdoutBuffer(['/bin/cat', 'x']);
    expect(wrapped.slice(1)).toEqual(['-o', '1M', '/bin/cat', 'x']);
    expect(wrapped[0]).toMatch(/\/stdbuf$/);
    expect(withLargeStdoutBuffer(['cat'])).toHaveLength(4);
    // A missing program keeps its own start-up error (not stdbuf's).
    expect(withLargeStdoutBuffer(['/nonexistent/pg_basebackup'])).toEqual(['/nonexistent/pg_basebackup']);
    expect(withLargeStdoutBuffer(['no-such-program-here'])).toEqual(['no-such-program-here']);
  });
});
