import { createHash } from 'node:crypto';
import { BackupError } from '../errors.js';
import type { Host } from '../host/host.js';
import { describeConnection, type PgConnection } from './connection.js';
import { queryJson, queryRow, runSql, type SqlOptions } from './psql.js';
import { quoteIdent, quoteLiteral, USER_TABLE_CONDITION } from './sqlText.js';

export { queryJson, queryRow, runSql, type SqlOptions } from './psql.js';

export interface ServerInfo {
  /** server_version_num, e.g. 150014. */
  versionNum: number;
  /** server_version without the packager's suffix, e.g. "15.14". */
  version: string;
  /** pg_control's system identifier as decimal text (64 bits: too big for a JS number). */
  systemIdentifier: string | null;
  /** Version of the timescaledb extension in the database asked (extensions are per database). */
  timescaledbVersion: string | null;
  /** Only superusers and pg_read_all_settings members may see it; otherwise null. */
  dataDirectory: string | null;
  walSegmentSize: number;
  inRecovery: boolean;
}

// Select lists shared by the single-purpose queries below and by backupSourceFacts, which asks
// them all in one psql run (each psql start costs ~100 ms on the host).
const TIMESCALEDB_VERSION_COLUMN = `(select extversion from pg_extension where extname = 'timescaledb') as "timescaledbVersion"`;
// pg_settings hides superuser-only settings instead of failing like current_setting() does.
const SERVER_INFO_COLUMNS = `current_setting('server_version_num')::int as "versionNum",
            split_part(current_setting('server_version'), ' ', 1) as "version",
            (select system_identifier::text from pg_control_system()) as "systemIdentifier",
            ${TIMESCALEDB_VERSION_COLUMN},
            (select setting from pg_settings where name = 'data_directory') as "dataDirectory",
            (select setting::bigint from pg_settings where name = 'wal_segment_size') as "walSegmentSize",
            pg_is_in_recovery() as "inRecovery"`;
const DATABASE_STATS_COLUMNS = `(select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where ${USER_TABLE_CONDITION}) as "tableCount",
            pg_database_size(current_database()) as "databaseSizeBytes"`;
// Users' hypertables are the rows of the information view; _timescaledb_catalog.hypertable
// also holds continuous-aggregate and compression internals.
const TIMESCALE_COUNT_COLUMNS = `(select count(*) from timescaledb_information.hypertables) as "hypertableCount",
            (select count(*) from timescaledb_information.chunks) as "chunkCount"`;
const CLUSTER_SIZE_COLUMN = `(select coalesce(sum(pg_database_size(oid)), 0)::bigint from pg_database where has_database_privilege(oid, 'CONNECT'))`;

/** The facts a backup records about its source server. Asks `database` (default postgres). */
export async function serverInfo(host: Host, connection: PgConnection, options: SqlOptions & { database?: string } = {}): Promise<ServerInfo> {
  const database = options.database ?? 'postgres';
  // pg_settings hides superuser-only settings instead of failing like current_setting() does.
  return queryRow<ServerInfo>(
    host,
    connection,
    database,
    `select ${SERVER_INFO_COLUMNS}`,
    options,
  );
}

export interface DatabaseStats {
  /** User tables as defined by USER_TABLE_CONDITION (partitions included). */
  tableCount: number;
  databaseSizeBytes: number;
  /** Rows of timescaledb_information.hypertables; null where the extension is not installed. */
  hypertableCount: number | null;
  /** Rows of timescaledb_information.chunks; null where the extension is not installed. */
  chunkCount: number | null;
  timescaledbVersion: string | null;
}

export async function databaseStats(host: Host, connection: PgConnection, database: string, options: SqlOptions = {}): Promise<DatabaseStats> {
  const base = await queryRow<Omit<DatabaseStats, 'hypertableCount' | 'chunkCount'>>(
    host,
    connection,
    database,
    `select ${DATABASE_STATS_COLUMNS}, ${TIMESCALEDB_VERSION_COLUMN}`,
    options,
  );
  if (base.timescaledbVersion === null) return { ...base, hypertableCount: null, chunkCount: null };
  const timescale = await queryRow<{ hypertableCount: number; chunkCount: number }>(host, connection, database, `select ${TIMESCALE_COUNT_COLUMNS}`, options);
  return { ...base, ...timescale };
}

/** Databases a user can connect to (templates excluded), by name. */
export async function listDatabases(host: Host, connection: PgConnection, options: SqlOptions = {}): Promise<string[]> {
  const rows = await queryJson<{ name: string }>(
    host,
    connection,
    'postgres',
    'select datname as name from pg_database where datallowconn and not datistemplate order by datname',
    options,
  );
  return rows.map((row) => row.name);
}

/** Sum of the sizes of all databases the user may see: what pg_basebackup will roughly stream. */
export async function clusterSizeBytes(host: Host, connection: PgConnection, options: SqlOptions = {}): Promise<number> {
  const row = await queryRow<{ bytes: number }>(
    host,
    connection,
    'postgres',
    `select ${CLUSTER_SIZE_COLUMN} as bytes`,
    options,
  );
  return row.bytes;
}

/**
 * Proves PostgreSQL answers: DATABASE_UNREACHABLE (with what to check) when it does not, a
 * clear "does not exist" when the database is missing.
 */
export async function checkConnection(host: Host, connection: PgConnection, database = 'postgres', options: SqlOptions = {}): Promise<void> {
  const output = await runSql(host, connection, database, 'select 1', options);
  if (output.trim() !== '1') {
    throw new BackupError('DATABASE_ERROR', `Unexpected answer to "select 1" from ${describeConnection(connection, database)}.`);
  }
}

export interface TableDigest {
  schema: string;
  table: string;
  rows: number;
  /** md5 hex over the table's rows as a multiset (see tableDigests). */
  digest: string;
  /** Unlogged tables are emptied by recovery, so a restored copy has none of their rows. */
  unlogged: boolean;
}

/**
 * A digest of every user table's rows, to prove that a restored database holds the same data.
 * A table's rows are those a user's SELECT reads: a partitioned table with all its partitions, a
 * hypertable with all its chunks (compressed ones decompressed); each partition also has its own
 * entry. The digest is order-independent and needs constant memory: each row's text is hashed
 * (md5), the two 64-bit halves of the hashes are summed exactly, and the digest is the md5 of
 * "count:sum1:sum2". (md5 of string_agg in row order would hit PostgreSQL's 1 GB value limit and
 * sort every table.) Sums add up, so a partitioned table's digest is computed from its leaf
 * partitions' sums instead of reading its data a second time.
 */
export async function tableDigests(host: Host, connection: PgConnection, database: string, options: SqlOptions = {}): Promise<TableDigest[]> {
  const tables = await queryJson<{ schema: string; table: string; unlogged: boolean; leaves: TableName[] | null }>(
    host,
    connection,
    database,
    `select n.nspname as "schema", c.relname as "table", c.relpersistence = 'u' as "unlogged",
            case when c.relkind = 'p' then (
              select coalesce(json_agg(json_build_object('schema', ln.nspname, 'table', lc.relname)), '[]'::json)
                from pg_partition_tree(c.oid) tree
                join pg_class lc on lc.oid = tree.relid
                join pg_namespace ln on ln.oid = lc.relnamespace
               where tree.isleaf and lc.relkind = 'r')
            end as "leaves"
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where ${USER_TABLE_CONDITION}
      order by 1, 2`,
    options,
  );
  const scanned = new Map<string, TableName>();
  for (const table of tables) {
    for (const name of table.leaves ?? [table]) scanned.set(tableKey(name), { schema: name.schema, table: name.table });
  }
  const sums = new Map<string, RowSums>();
  if (scanned.size > 0) {
    const perTable = [...scanned.values()].map(
      ({ schema, table }) =>
        `select ${quoteLiteral(schema)} as "schema", ${quoteLiteral(table)} as "table", count(*) as "rows",
                coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint), 0)::text as "sum1",
                coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint), 0)::text as "sum2"
           from (select md5((r.*)::text) as h from ${quoteIdent(schema)}.${quoteIdent(table)} r) hashed`,
    );
    const rows = await queryJson<TableName & { rows: number; sum1: string; sum2: string }>(host, connection, database, perTable.join('\nunion all\n'), options);
    for (const row of rows) sums.set(tableKey(row), { rows: BigInt(row.rows), sum1: BigInt(row.sum1), sum2: BigInt(row.sum2) });
  }
  return tables
    .map((table) => {
      const total = (table.leaves ?? [table]).reduce<RowSums>(
        (acc, name) => {
          const part = sums.get(tableKey(name))!;
          return { rows: acc.rows + part.rows, sum1: acc.sum1 + part.sum1, sum2: acc.sum2 + part.sum2 };
        },
        { rows: 0n, sum1: 0n, sum2: 0n },
      );
      const digest = createHash('md5').update(`${total.rows}:${total.sum1}:${total.sum2}`).digest('hex');
      return { schema: table.schema, table: table.table, rows: Number(total.rows), digest, unlogged: table.unlogged };
    })
    .sort((a, b) => (a.schema === b.schema ? compareText(a.table, b.table) : compareText(a.schema, b.schema)));
}

interface TableName {
  schema: string;
  table: string;
}

interface RowSums {
  rows: bigint;
  sum1: bigint;
  sum2: bigint;
}

function tableKey(name: TableName): string {
  return `${quoteIdent(name.schema)}.${quoteIdent(name.table)}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface BackupSourceFacts {
  server: ServerInfo;
  stats: DatabaseStats;
  /** What pg_basebackup will roughly stream: the sum of the database sizes. */
  clusterSizeBytes: number;
}

/** Everything a backup records about its source, in one psql run against the database. */
export async function backupSourceFacts(host: Host, connection: PgConnection, database: string, options: SqlOptions = {}): Promise<BackupSourceFacts> {
  const row = await queryRow<ServerInfo & { tableCount: number; databaseSizeBytes: number; clusterSizeBytes: number }>(
    host,
    connection,
    database,
    `select ${SERVER_INFO_COLUMNS}, ${DATABASE_STATS_COLUMNS}, ${CLUSTER_SIZE_COLUMN} as "clusterSizeBytes"`,
    options,
  );
  const { tableCount, databaseSizeBytes, clusterSizeBytes, ...server } = row;
  const timescale =
    server.timescaledbVersion === null
      ? { hypertableCount: null, chunkCount: null }
      : await queryRow<{ hypertableCount: number; chunkCount: number }>(host, connection, database, `select ${TIMESCALE_COUNT_COLUMNS}`, options);
  return { server, stats: { tableCount, databaseSizeBytes, timescaledbVersion: server.timescaledbVersion, ...timescale }, clusterSizeBytes };
}
