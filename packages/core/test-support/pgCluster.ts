import { chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { Secret } from '../src/config/secret.js';
import { execChecked } from '../src/host/execChecked.js';
import { LocalHost } from '../src/host/local.js';
import { lookupOsUser, runsAsRoot } from '../src/host/osUser.js';
import { pgTool } from '../src/host/pgBinaries.js';
import type { PgConnection } from '../src/postgres/connection.js';
import { runSql } from '../src/postgres/psql.js';
import { quoteIdent, quoteLiteral } from '../src/postgres/sqlText.js';
import { trackServer, untrackServer } from './clusterRegistry.js';

export interface ClusterOptions {
  /** Default replica: what pg_basebackup and WAL archiving need. */
  walLevel?: 'replica' | 'logical';
  /** Turns archive_mode on with this archive_command. */
  archiveCommand?: string;
  /** More postgresql.conf settings, written as `name = 'value'`. */
  extraConf?: Record<string, string>;
  /** initdb --data-checksums. */
  dataChecksums?: boolean;
  /** Directory of the PostgreSQL programs; default: pgTool's search. */
  binDir?: string;
}

export interface Cluster {
  /** The temporary directory holding everything: data/, sock/, server.log. */
  dir: string;
  pgdata: string;
  port: number;
  host: '127.0.0.1';
  /** The bootstrap superuser, "postgres". */
  user: string;
  socketDir: string;
  logFile: string;
  /** How our code reaches the server (TCP on 127.0.0.1, trust for this user). */
  connection: PgConnection;
  /** PGHOST/PGPORT/PGUSER/PGDATABASE for child processes such as the CLI. */
  env: Record<string, string>;
  /** Where the server's programs run: as `postgres` when the tests run as root. */
  osHost: LocalHost;
  /** Runs SQL as the superuser; returns psql's unaligned, tuples-only output. */
  psql(sql: string, database?: string): Promise<string>;
  /** A login role that must authenticate with a password over TCP (scram-sha-256). */
  createPasswordUser(name: string, password: string, options?: { superuser?: boolean; replication?: boolean }): Promise<PgConnection>;
  /** The server log so far (for failure messages). */
  serverLog(): Promise<string>;
  start(): Promise<void>;
  /** pg_ctl stop -m fast; the data directory stays. */
  stop(): Promise<void>;
  /** Stops the server and deletes the directory. */
  destroy(): Promise<void>;
}

/** Roles in this group must log in with a password over TCP; everyone else is trusted. */
const PASSWORD_GROUP = 'harness_password_login';

const PG_HBA = `# Written by the test harness: trust, except members of ${PASSWORD_GROUP} over TCP.
local   all          all                          trust
local   replication  all                          trust
host    all          +${PASSWORD_GROUP}  127.0.0.1/32  scram-sha-256
host    replication  +${PASSWORD_GROUP}  127.0.0.1/32  scram-sha-256
host    all          all                 127.0.0.1/32  trust
host    replication  all                 127.0.0.1/32  trust
`;

/**
 * A throwaway PostgreSQL cluster: initdb in a fresh temp directory, listening on a free port on
 * 127.0.0.1 and a socket inside that directory, started with pg_ctl -w. As root, everything runs
 * as the `postgres` OS user (PostgreSQL refuses to run as root). Tracked for cleanup: destroy()
 * it in afterAll (or use useCluster); the process exit handler stops whatever remains.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const osHost = new LocalHost({ pgBinDir: options.binDir });
  const owner = runsAsRoot() ? lookupOsUser(osHost.osUser) : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'llm-pgcluster-'));
  const pgdata = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  const logFile = join(dir, 'server.log');
  const pgCtl = osHost.pgTool('pg_ctl');
  trackServer({ pgdata, pgCtl, uid: owner?.uid, gid: owner?.gid, removeDir: dir });
  try {
    await mkdir(socketDir);
    if (owner) {
      await chown(dir, owner.uid, owner.gid);
      await chown(socketDir, owner.uid, owner.gid);
    }
    await execChecked(osHost, [
      osHost.pgTool('initdb'),
      '-D', pgdata,
      '-U', 'postgres',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync', // a test cluster does not need to survive an OS crash
      '--no-instructions',
      ...(options.dataChecksums ? ['--data-checksums'] : []),
    ]);
    await writeFile(join(pgdata, 'pg_hba.conf'), PG_HBA);
    const baseConf = await readFile(join(pgdata, 'postgresql.conf'), 'utf8');

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      await writeFile(join(pgdata, 'postgresql.conf'), baseConf + harnessConf(port, socketDir, options));
      const started = await osHost.exec([pgCtl, '-D', pgdata, '-l', logFile, '-w', '-t', '60', 'start']);
      if (started.exitCode === 0) break;
      const log = await readFile(logFile, 'utf8').catch(() => '');
      // Another process may take the port between freePort() and the server's bind.
      if (attempt < 3 && /could not bind|Address already in use/.test(log)) continue;
      throw new Error(`PostgreSQL did not start (pg_ctl exit ${started.exitCode}): ${started.stderr}\n${log.slice(-3000)}`);
    }

    const connection: PgConnection = { host: '127.0.0.1', port, user: 'postgres' };
    const cluster: Cluster = {
      dir,
      pgdata,
      port,
      host: '127.0.0.1',
      user: 'postgres',
      socketDir,
      logFile,
      connection,
      env: { PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'postgres', PGDATABASE: 'postgres' },
      osHost,
      psql: (sql, database = 'postgres') => runSql(osHost, connection, database, sql),
      createPasswordUser: async (name, password, roleOptions = {}) => {
        const attributes = [roleOptions.superuser ? 'SUPERUSER' : '', roleOptions.replication ? 'REPLICATION' : ''].join(' ');
        // Sent on psql's stdin by runSql, so the password is never in any argv.
        await cluster.psql(
          `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(PASSWORD_GROUP)}) THEN CREATE ROLE ${quoteIdent(PASSWORD_GROUP)} NOLOGIN; END IF; END $$;
           CREATE ROLE ${quoteIdent(name)} LOGIN ${attributes} PASSWORD ${quoteLiteral(password)} IN ROLE ${quoteIdent(PASSWORD_GROUP)};`,
        );
        return { host: '127.0.0.1', port, user: name, password: new Secret(password) };
      },
      serverLog: () => readFile(logFile, 'utf8').catch(() => ''),
      start: async () => {
        await execChecked(osHost, [pgCtl, '-D', pgdata, '-l', logFile, '-w', '-t', '60', 'start']);
      },
      stop: () => stopClusterAt(pgdata, { binDir: options.binDir }),
      destroy: async () => {
        await stopClusterAt(pgdata, { binDir: options.binDir }).catch(() => {});
        untrackServer(pgdata);
        await rm(dir, { recursive: true, force: true });
      },
    };
    return cluster;
  } catch (error) {
    await stopClusterAt(pgdata, { binDir: options.binDir }).catch(() => {});
    untrackServer(pgdata);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Stops the server running on a data directory, if one is: clusters of this harness and servers
 * the product started (a restore). pg_ctl runs as the directory's owner's user on this machine.
 */
export async function stopClusterAt(pgdata: string, options: { binDir?: string; mode?: 'smart' | 'fast' | 'immediate' } = {}): Promise<void> {
  if (!existsSync(join(pgdata, 'postmaster.pid'))) return;
  const osHost = new LocalHost({ pgBinDir: options.binDir });
  await execChecked(osHost, [osHost.pgTool('pg_ctl'), '-D', pgdata, '-m', options.mode ?? 'fast', '-w', '-t', '60', 'stop']);
}

/**
 * Registers a data directory the product will start a server on (a restore target), so that the
 * exit handler stops that server even if the test fails before its own cleanup.
 */
export async function trackDataDirectory(pgdata: string, options: { binDir?: string } = {}): Promise<void> {
  const owner = runsAsRoot() ? await stat(pgdata).then((s) => ({ uid: s.uid, gid: s.gid })).catch(() => lookupOsUser('postgres')) : undefined;
  trackServer({ pgdata, pgCtl: pgTool('pg_ctl', { binDir: options.binDir }), uid: owner?.uid, gid: owner?.gid });
}

/** Starts a cluster before the file's tests and destroys it after them; call inside describe or at top level. */
export function useCluster(options: ClusterOptions = {}): () => Cluster {
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    cluster = await startCluster(options);
  });
  afterAll(async () => {
    await cluster?.destroy();
  });
  return () => {
    if (!cluster) throw new Error('The cluster is not started yet: use it inside a test or hook.');
    return cluster;
  };
}

function harnessConf(port: number, socketDir: string, options: ClusterOptions): string {
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: socketDir,
    wal_level: options.walLevel ?? 'replica',
    max_wal_senders: '10',
    max_replication_slots: '10',
    max_connections: '30',
    fsync: 'off',
    ...(options.archiveCommand ? { archive_mode: 'on', archive_command: options.archiveCommand } : {}),
    ...options.extraConf,
  };
  const lines = Object.entries(settings).map(([name, value]) => `${name} = ${confValue(value)}`);
  return `\n# Test harness settings\n${lines.join('\n')}\n`;
}

/** postgresql.conf quoting: backslash is an escape character there, and '' is a quote. */
function confValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
