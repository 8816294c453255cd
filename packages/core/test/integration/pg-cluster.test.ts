import { existsSync } from 'node:fs';
import { chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { lookupOsUser, runsAsRoot } from '../../src/host/osUser.js';
import { checkConnection } from '../../src/postgres/sql.js';
import { stopAllTrackedSync, trackedServers } from '../../test-support/clusterRegistry.js';
import { startCluster, stopClusterAt, useCluster } from '../../test-support/pgCluster.js';

describe('the test cluster harness', () => {
  const cluster = useCluster({ extraConf: { work_mem: '8MB' } });

  test('listens on 127.0.0.1 at its own port and a socket inside its directory, as the postgres superuser', async () => {
    const { psql, port, socketDir, env } = cluster();
    expect(await psql("select current_user || ' ' || current_setting('port') || ' ' || current_setting('unix_socket_directories')")).toBe(`postgres ${port} ${socketDir}`);
    expect(env).toEqual({ PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'postgres', PGDATABASE: 'postgres' });
    expect(await psql("select current_setting('wal_level') || ' ' || current_setting('max_wal_senders') || ' ' || current_setting('work_mem')")).toBe('replica 10 8MB');
  });

  test.runIf(runsAsRoot())('runs the server as the postgres OS user when the tests run as root', async () => {
    // The postmaster's pid is the first line of postmaster.pid.
    const pid = (await readFile(join(cluster().pgdata, 'postmaster.pid'), 'utf8')).split('\n')[0]!;
    const status = await cluster().osHost.exec(['ps', '-o', 'user=', '-p', pid]);
    expect(status.stdout.trim()).toBe('postgres');
  });

  test('stop keeps the data, start brings the same server back', async () => {
    const { psql, stop, start, pgdata } = cluster();
    await psql('CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)');
    await stop();
    expect(existsSync(join(pgdata, 'postmaster.pid'))).toBe(false);
    await start();
    expect(await psql('SELECT x FROM kept')).toBe('42');
  });

  test('archives WAL with the given archive_command', async () => {
    const archive = await mkdtemp(join(tmpdir(), 'harness-archive-'));
    if (runsAsRoot()) await chown(archive, lookupOsUser('postgres').uid, lookupOsUser('postgres').gid);
    const archived = await startCluster({ archiveCommand: `test ! -f ${archive}/%f && cp %p ${archive}/%f` });
    try {
      expect(await archived.psql("select current_setting('archive_mode')")).toBe('on');
      const segment = await archived.psql('CREATE TABLE t AS SELECT 1 AS x; SELECT pg_walfile_name(pg_current_wal_lsn()) FROM pg_switch_wal()');
      await expect.poll(async () => (await readdir(archive)).includes(segment), { timeout: 20_000 }).toBe(true);
    } finally {
      await archived.destroy();
      await rm(archive, { recursive: true, force: true });
    }
  });

  test('destroy stops the server and removes its directory', async () => {
    const temporary = await startCluster();
    await temporary.destroy();
    expect(existsSync(temporary.dir)).toBe(false);
    await expect(checkConnection(temporary.osHost, temporary.connection)).rejects.toMatchObject({ code: 'DATABASE_UNREACHABLE' });
  });

  test('stopClusterAt stops a server it did not start, and does nothing where none runs', async () => {
    const other = await startCluster();
    try {
      await stopClusterAt(other.pgdata);
      expect(existsSync(join(other.pgdata, 'postmaster.pid'))).toBe(false);
      await stopClusterAt(other.pgdata);
    } finally {
      await other.destroy();
    }
  });
});

describe('cleanup when a test file dies', () => {
  test('what a dying test process leaves behind is stopped and removed by the exit handler', async () => {
    const orphan = await startCluster();
    expect(trackedServers().map((server) => server.pgdata)).toContain(orphan.pgdata);
    stopAllTrackedSync(); // what process.on('exit') runs
    expect(existsSync(orphan.dir)).toBe(false);
    await expect(checkConnection(orphan.osHost, orphan.connection)).rejects.toMatchObject({ code: 'DATABASE_UNREACHABLE' });
  });
});
