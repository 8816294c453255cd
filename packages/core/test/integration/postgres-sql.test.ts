import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { beforeAll, describe, expect, test } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { parseBackupLabel } from '../../src/postgres/backupLabel.js';
import { baseBackupArgv, baseBackupEnv } from '../../src/postgres/basebackup.js';
import { readSystemIdentifier } from '../../src/postgres/controlFile.js';
import { lastWalSegmentBefore, walSegmentName } from '../../src/postgres/lsn.js';
import { manifestFilePath, manifestWalRange, parseManifest, verifyManifestChecksum } from '../../src/postgres/manifest.js';
import { checkConnection, clusterSizeBytes, databaseStats, listDatabases, queryJson, runSql, serverInfo, tableDigests } from '../../src/postgres/sql.js';
import { useCluster } from '../../test-support/pgCluster.js';
import { loadSampleData, type SampleDataSummary } from '../../test-support/sampleData.js';

const cluster = useCluster();
let sample: SampleDataSummary;

beforeAll(async () => {
  sample = await loadSampleData(cluster(), { rows: 20_000 });
});

describe('SQL helpers against a real PostgreSQL', () => {
  test('serverInfo reports version, the system identifier of pg_control, and no TimescaleDB', async () => {
    const { osHost, connection, pgdata } = cluster();
    const info = await serverInfo(osHost, connection);
    expect(info.versionNum).toBeGreaterThanOrEqual(130000);
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect(Math.floor(info.versionNum / 10000)).toBe(Number(info.version.split('.')[0]));
    expect(info.systemIdentifier).toBe(await readSystemIdentifier(pgdata));
    expect(info.timescaledbVersion).toBeNull();
    expect(await realpath(info.dataDirectory!)).toBe(await realpath(pgdata));
    expect(info).toMatchObject({ walSegmentSize: 16 * 1024 * 1024, inRecovery: false });
  });

  test('databaseStats counts user tables with each partition, and the size PostgreSQL reports', async () => {
    const { osHost, connection } = cluster();
    const stats = await databaseStats(osHost, connection, sample.db);
    expect(stats.tableCount).toBe(sample.tableCount);
    expect(stats.tableCount).toBe(3 + 7);
    expect(stats.hypertableCount).toBeNull();
    expect(stats.chunkCount).toBeNull();
    const size = Number(await cluster().psql('select pg_database_size(current_database())', sample.db));
    expect(stats.databaseSizeBytes).toBe(size);
  });

  test('a table in a TimescaleDB-named or system schema is not a user table', async () => {
    const { osHost, connection } = cluster();
    await cluster().psql('CREATE SCHEMA _timescaledb_internal; CREATE TABLE _timescaledb_internal._hyper_1_1_chunk (x int); CREATE TEMP TABLE scratch (x int);', sample.db);
    try {
      expect((await databaseStats(osHost, connection, sample.db)).tableCount).toBe(sample.tableCount);
    } finally {
      await cluster().psql('DROP SCHEMA _timescaledb_internal CASCADE', sample.db);
    }
  });

  test('listDatabases lists connectable databases without templates; clusterSizeBytes sums them', async () => {
    const { osHost, connection } = cluster();
    expect(await listDatabases(osHost, connection)).toEqual(['llm_analytics', 'postgres']);
    const stats = await databaseStats(osHost, connection, sample.db);
    expect(await clusterSizeBytes(osHost, connection)).toBeGreaterThan(stats.databaseSizeBytes);
  });

  test('queryJson keeps SQL types: numbers, booleans, nulls and jsonb', async () => {
    const { osHost, connection } = cluster();
    const rows = await queryJson<{ id: number; payload: { code: number; ok: boolean }; missing: null }>(
      osHost,
      connection,
      sample.db,
      'select id, payload, null as missing from events order by id limit 2',
    );
    expect(rows).toEqual([
      { id: 1, payload: { code: 0, severity: 0, ok: true, labels: ['a0', 'b0'] }, missing: null },
      { id: 2, payload: { code: 1, severity: 1, ok: false, labels: ['a1', 'b1'] }, missing: null },
    ]);
  });
});

describe('tableDigests', () => {
  test('lists every user table with its row count; a partitioned table counts all its partitions', async () => {
    const digests = await tableDigests(cluster().osHost, cluster().connection, sample.db);
    expect(digests.map((d) => d.table)).toEqual(['devices', 'events', 'metrics', ...[1, 2, 3, 4, 5, 6, 7].map((day) => `metrics_2025010${day}`)]);
    const rows = Object.fromEntries(digests.map((d) => [d.table, d.rows]));
    expect(rows).toMatchObject({ devices: 100, events: 2_000, metrics: 20_000 });
    expect(digests.filter((d) => d.table.startsWith('metrics_')).reduce((sum, d) => sum + d.rows, 0)).toBe(20_000);
  });

  test('is the same for the same rows in another physical order, and changes when one value changes', async () => {
    const { osHost, connection, psql } = cluster();
    await psql('CREATE TABLE events_reversed AS SELECT * FROM events ORDER BY id DESC; CREATE TABLE metrics_flat AS SELECT * FROM metrics ORDER BY value', sample.db);
    try {
      const before = await tableDigests(osHost, connection, sample.db);
      const digestOf = (list: typeof before, table: string) => list.find((d) => d.table === table)!.digest;
      expect(digestOf(before, 'events_reversed')).toBe(digestOf(before, 'events'));
      // The partitioned table's digest, combined from its partitions, is that of its rows in one table.
      expect(digestOf(before, 'metrics_flat')).toBe(digestOf(before, 'metrics'));

      await psql("UPDATE events SET message = message || '!' WHERE id = 1000", sample.db);
      const changed = await tableDigests(osHost, connection, sample.db);
      expect(digestOf(changed, 'events')).not.toBe(digestOf(before, 'events'));
      expect(digestOf(changed, 'metrics')).toBe(digestOf(before, 'metrics'));

      await psql("UPDATE events SET message = left(message, -1) WHERE id = 1000", sample.db);
      expect(digestOf(await tableDigests(osHost, connection, sample.db), 'events')).toBe(digestOf(before, 'events'));
    } finally {
      await psql('DROP TABLE events_reversed, metrics_flat', sample.db);
    }
  });

  test('the sample data is deterministic: a second load has the same digests', async () => {
    const { osHost, connection } = cluster();
    const again = await loadSampleData(cluster(), { db: 'llm_analytics_again', rows: 20_000 });
    try {
      const strip = (list: Awaited<ReturnType<typeof tableDigests>>) => list.map(({ table, rows, digest }) => ({ table, rows, digest }));
      expect(strip(await tableDigests(osHost, connection, again.db))).toEqual(strip(await tableDigests(osHost, connection, sample.db)));
    } finally {
      await cluster().psql('DROP DATABASE llm_analytics_again');
    }
  });
});

describe('connection failures', () => {
  test('nothing listening on the port is DATABASE_UNREACHABLE, with a hint naming PGHOST/PGPORT/PGUSER', async () => {
    const failure = checkConnection(cluster().osHost, { host: '127.0.0.1', port: 1, user: 'postgres' });
    await expect(failure).rejects.toMatchObject({
      code: 'DATABASE_UNREACHABLE',
      message: expect.stringContaining('127.0.0.1:1'),
      hint: expect.stringMatching(/PGHOST.*PGPORT.*PGUSER/),
    });
  });

  test('a missing database says so clearly', async () => {
    await expect(checkConnection(cluster().osHost, cluster().connection, 'no_such_db')).rejects.toMatchObject({
      code: 'DATABASE_UNREACHABLE',
      message: expect.stringContaining('Database "no_such_db" does not exist'),
    });
  });

  test('a password user connects with PGPASSWORD; a wrong password is refused without ever showing it', async () => {
    const app = await cluster().createPasswordUser('app_reader', 'correct horse battery');
    await checkConnection(cluster().osHost, app, 'postgres');
    const wrong = { ...app, password: new Secret('Tr0ub4dor&3-wrong') };
    const failure = await checkConnection(cluster().osHost, wrong, 'postgres').catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'DATABASE_UNREACHABLE', message: expect.stringContaining('password authentication failed') });
    const shown = JSON.stringify(failure) + String((failure as Error).message) + String((failure as { hint?: string }).hint);
    expect(shown).toContain('PGPASSWORD');
    expect(shown).not.toContain('Tr0ub4dor');
    const missing = await checkConnection(cluster().osHost, { ...app, password: undefined }, 'postgres').catch((error: unknown) => error);
    expect(missing).toMatchObject({ code: 'DATABASE_UNREACHABLE', hint: expect.stringContaining('no password is set') });
  });

  test('a failing statement is DATABASE_ERROR with PostgreSQL\'s message', async () => {
    await expect(runSql(cluster().osHost, cluster().connection, sample.db, 'select * from no_such_table')).rejects.toMatchObject({
      code: 'DATABASE_ERROR',
      message: expect.stringContaining('relation "no_such_table" does not exist'),
    });
  });
});

/** Reads a tar stream: sha256 and size of every regular file, the bodies of a few. */
function tarReader(capture: string[]) {
  const files = new Map<string, { size: number; sha256: string }>();
  const captured = new Map<string, Buffer>();
  let pending = Buffer.alloc(0);
  let body: { name: string; size: number; remaining: number; padding: number; hash: ReturnType<typeof createHash>; parts: Buffer[] } | undefined;
  let ended = false;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      pending = Buffer.concat([pending, chunk]);
      while (!ended) {
        if (body) {
          const take = Math.min(body.remaining, pending.length);
          const part = pending.subarray(0, take);
          body.hash.update(part);
          if (capture.includes(body.name)) body.parts.push(Buffer.from(part));
          body.remaining -= take;
          pending = pending.subarray(take);
          if (body.remaining > 0) break;
          if (pending.length < body.padding) break; // wait for the padding to arrive
          pending = pending.subarray(body.padding);
          files.set(body.name, { size: body.size, sha256: body.hash.digest('hex') });
          if (capture.includes(body.name)) captured.set(body.name, Buffer.concat(body.parts));
          body = undefined;
          continue;
        }
        if (pending.length < 512) break;
        const header = pending.subarray(0, 512);
        pending = pending.subarray(512);
        if (header.every((byte) => byte === 0)) {
          ended = true;
          break;
        }
        const field = (start: number, length: number) => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
        const prefix = field(345, 155);
        const name = (prefix ? `${prefix}/` : '') + field(0, 100);
        const size = Number.parseInt(field(124, 12).trim() || '0', 8);
        const type = field(156, 1) || '0';
        if (type === '0') {
          body = { name, size, remaining: size, padding: (512 - (size % 512)) % 512, hash: createHash('sha256'), parts: [] };
        }
      }
      callback();
    },
  });
  return { sink, files, captured };
}

describe('pg_basebackup through LocalHost.execStream', () => {
  test('streams a tar holding backup_label and a backup_manifest whose checksums all hold', async () => {
    const { osHost, psql } = cluster();
    // A replication user with a password: pg_basebackup must get it from PGPASSWORD, not argv.
    const backupUser = await cluster().createPasswordUser('backup_agent', 'replication secret', { replication: true });
    const argv = baseBackupArgv({ program: osHost.pgTool('pg_basebackup'), label: 'backup-llm_analytics-test', connection: backupUser });
    expect(argv.join(' ')).not.toContain('replication secret');
    const run = osHost.execStream(argv, { env: baseBackupEnv(backupUser) });
    const tar = tarReader(['backup_label', 'backup_manifest']);
    await pipeline(run.stdout, tar.sink);
    expect((await run.done).exitCode).toBe(0);

    const manifestBytes = tar.captured.get('backup_manifest');
    const labelBytes = tar.captured.get('backup_label');
    expect(manifestBytes).toBeDefined();
    expect(labelBytes).toBeDefined();
    verifyManifestChecksum(manifestBytes!);
    const manifest = parseManifest(manifestBytes!);
    const label = parseBackupLabel(labelBytes!.toString('utf8'));
    expect(label).toMatchObject({ label: 'backup-llm_analytics-test', backupMethod: 'streamed', backupFrom: 'primary', startTimeline: 1 });

    // Every file the manifest lists is in the tar with that size and SHA-256.
    const listed = manifest.Files.map((file) => manifestFilePath(file));
    expect(listed).toContain('global/pg_control');
    for (const file of manifest.Files) {
      const inTar = tar.files.get(manifestFilePath(file));
      expect(inTar, manifestFilePath(file)).toBeDefined();
      expect(file['Checksum-Algorithm']).toBe('SHA256');
      expect(inTar!.size, manifestFilePath(file)).toBe(file.Size);
      expect(inTar!.sha256, manifestFilePath(file)).toBe(file.Checksum);
    }
    // -X fetch: the WAL from start to end is in the same tar, under pg_wal/.
    const range = manifestWalRange(manifest);
    expect(range.startLsn).toBe(label.startWalLocation);
    expect(label.startWalFile).toBe(walSegmentName(range.timeline, range.startLsn));
    const lastSegment = lastWalSegmentBefore(range.timeline, range.endLsn);
    expect(lastSegment).toBe(await psql(`select pg_walfile_name('${range.endLsn}')`));
    expect(tar.files.has(`pg_wal/${label.startWalFile}`)).toBe(true);
    expect(tar.files.has(`pg_wal/${lastSegment}`)).toBe(true);
  });
});
