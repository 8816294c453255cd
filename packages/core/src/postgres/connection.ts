import type { PgConnection } from '../config/resolve.js';

export type { PgConnection } from '../config/resolve.js';

/**
 * libpq command-line options for a connection. Host, port and user are not secret; the password
 * never goes on a command line (visible in `ps` and in our error messages): see connectionEnv.
 */
export function connectionArgs(connection: PgConnection): string[] {
  const args: string[] = [];
  if (connection.host) args.push(`--host=${connection.host}`);
  if (connection.port !== undefined) args.push(`--port=${connection.port}`);
  if (connection.user) args.push(`--username=${connection.user}`);
  return args;
}

/** Environment for a libpq program: the password (PGPASSWORD) and a bounded connect wait. */
export function connectionEnv(connection: PgConnection): Record<string, string> {
  return {
    // Without a timeout libpq waits for the OS TCP timeout (minutes) on a black-holed address.
    PGCONNECT_TIMEOUT: '15',
    ...(connection.password ? { PGPASSWORD: connection.password.reveal() } : {}),
  };
}

/** "127.0.0.1:5432 as postgres" — for messages; never includes the password. */
export function describeConnection(connection: PgConnection, database?: string): string {
  const where = connection.host ? `${connection.host}${connection.port !== undefined ? `:${connection.port}` : ''}` : connection.port !== undefined ? `local socket, port ${connection.port}` : 'the default server (PGHOST/PGPORT)';
  const db = database ? `database "${database}" on ` : '';
  return `${db}${where}${connection.user ? ` as user ${connection.user}` : ''}`;
}

/**
 * What psql/pg_dump take as -d. A name containing "=" or starting with a URI scheme would be
 * read by libpq as a connection string, so such names are passed as `dbname='...'`.
 */
export function databaseArg(database: string): string {
  if (!database.includes('=') && !/^postgres(ql)?:\/\//.test(database)) return database;
  return `dbname='${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
