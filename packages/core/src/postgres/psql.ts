import { Readable } from 'node:stream';
import { BackupError } from '../errors.js';
import type { Host } from '../host/host.js';
import { hostPgTool } from '../host/pgBinaries.js';
import { formatCommandLine } from '../host/commandLine.js';
import { connectionArgs, connectionEnv, databaseArg, describeConnection, type PgConnection } from './connection.js';

export interface SqlOptions {
  /** Directory of the PostgreSQL programs on the host (PG_BIN_DIR); default: the host's own. */
  binDir?: string;
  signal?: AbortSignal;
}

/**
 * Runs SQL with psql on the host and returns its unaligned, tuples-only output. The SQL goes in
 * on stdin, not in argv: it stays out of `ps` and of error messages, and has no length limit.
 * -X: no ~/.psqlrc; ON_ERROR_STOP: the first error ends the script with exit code 3.
 */
export async function runSql(host: Host, connection: PgConnection, database: string, sql: string, options: SqlOptions = {}): Promise<string> {
  const psql = options.binDir ? `${options.binDir.replace(/\/+$/, '')}/psql` : hostPgTool(host, 'psql');
  const argv = [psql, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '--no-password', ...connectionArgs(connection), '-d', databaseArg(database), '-f', '-'];
  const result = await host.exec(argv, {
    stdin: Readable.from([Buffer.from(sql, 'utf8')]),
    env: { ...connectionEnv(connection), PGCLIENTENCODING: 'UTF8', PGAPPNAME: 'llm-analytics-backup' },
    signal: options.signal,
  });
  if (result.exitCode !== 0) throw psqlFailure(argv, result.exitCode, result.stderr, connection, database);
  return result.stdout.replace(/\n$/, '');
}

/** Rows of a query as JSON objects (json_agg keeps types: numbers, booleans, nulls, nesting). */
export async function queryJson<T = Record<string, unknown>>(host: Host, connection: PgConnection, database: string, sql: string, options: SqlOptions = {}): Promise<T[]> {
  const output = await runSql(host, connection, database, `select coalesce(json_agg(t), '[]'::json) from (${sql}) t`, options);
  try {
    return JSON.parse(output) as T[];
  } catch {
    throw new BackupError('DATABASE_ERROR', `psql returned output that is not JSON for a query on ${describeConnection(connection, database)}.`, 'Check that psql is PostgreSQL\'s own client and no psqlrc-like wrapper changes its output.');
  }
}

/** The one row of a query that returns exactly one. */
export async function queryRow<T = Record<string, unknown>>(host: Host, connection: PgConnection, database: string, sql: string, options: SqlOptions = {}): Promise<T> {
  const rows = await queryJson<T>(host, connection, database, sql, options);
  if (rows.length !== 1) throw new BackupError('DATABASE_ERROR', `Expected one row, got ${rows.length}, from a query on ${describeConnection(connection, database)}.`);
  return rows[0]!;
}

/**
 * psql's exit codes: 2 when the connection failed or was lost, 3 when a statement failed under
 * ON_ERROR_STOP, 1 for its own errors. libpq never prints the password, so stderr is safe to show.
 */
function psqlFailure(argv: readonly string[], exitCode: number, stderr: string, connection: PgConnection, database: string): BackupError {
  const where = describeConnection(connection);
  const detail = stderr.trim().replace(/^psql: error: /gm, '');
  const passwordState = connection.password ? 'a password is set (PGPASSWORD)' : 'no password is set (PGPASSWORD)';
  if (exitCode === 2 || /^psql: error: /m.test(stderr)) {
    const missing = /database "((?:[^"]|"")*)" does not exist/.exec(detail);
    if (missing) {
      return new BackupError('DATABASE_UNREACHABLE', `Database "${missing[1]}" does not exist on ${where}.`, 'Check the database name (-d/--database); psql -l lists the server\'s databases.');
    }
    if (/password authentication failed|no password supplied|authentication failed|no pg_hba\.conf entry|role "[^"]*" does not exist/.test(detail)) {
      return new BackupError('DATABASE_UNREACHABLE', `PostgreSQL on ${where} refused the login: ${firstLine(detail)}`, `Check the user (PGUSER or --pg-user) and its password (${passwordState}), and pg_hba.conf on the server.`);
    }
    return new BackupError('DATABASE_UNREACHABLE', `Cannot connect to PostgreSQL on ${where}: ${firstLine(detail)}`, 'Check that PostgreSQL is running and that PGHOST/PGPORT (or --pg-host/--pg-port) point at it; PGUSER (or --pg-user) names the user to connect as.');
  }
  if (exitCode === 3) {
    const error = detail.split('\n').filter((line) => /(ERROR|DETAIL|HINT|FATAL):/.test(line)).map((line) => line.replace(/^psql:<stdin>:\d+: /, '')).join(' ');
    return new BackupError('DATABASE_ERROR', `A query on ${describeConnection(connection, database)} failed: ${error || firstLine(detail)}`);
  }
  return new BackupError('DATABASE_ERROR', `${formatCommandLine(argv)} failed with exit code ${exitCode}: ${firstLine(detail) || 'no message'}`);
}

function firstLine(text: string): string {
  return text.split('\n').map((line) => line.trim()).filter(Boolean).slice(0, 2).join(' ');
}
