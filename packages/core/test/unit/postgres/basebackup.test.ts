import { describe, expect, test } from 'vitest';
import { Secret } from '../../../src/config/secret.js';
import { baseBackupArgv, baseBackupEnv } from '../../../src/postgres/basebackup.js';
import { databaseArg, describeConnection } from '../../../src/postgres/connection.js';
import { parseSystemIdentifier } from '../../../src/postgres/controlFile.js';

describe('baseBackupArgv', () => {
  test('streams one tar with the manifest to stdout, WAL fetched at the end', () => {
    expect(baseBackupArgv({ binDir: '/usr/lib/postgresql/15/bin', label: 'backup-x' })).toEqual([
      '/usr/lib/postgresql/15/bin/pg_basebackup',
      '--pgdata=-',
      '--format=tar',
      '--wal-method=fetch',
      '--manifest-checksums=SHA256',
      '--checkpoint=fast',
      '--no-password',
      '--label=backup-x',
    ]);
  });

  test('names host, port and user, but the password only in the environment', () => {
    const connection = { host: 'db.internal', port: 5433, user: 'backup', password: new Secret('s3cret!') };
    const argv = baseBackupArgv({ label: 'l', connection });
    expect(argv[0]).toBe('pg_basebackup');
    expect(argv).toEqual(expect.arrayContaining(['--host=db.internal', '--port=5433', '--username=backup']));
    expect(argv.join(' ')).not.toContain('s3cret');
    expect(baseBackupEnv(connection)).toMatchObject({ PGPASSWORD: 's3cret!' });
    expect(describeConnection(connection)).not.toContain('s3cret');
  });

  test('refuses a label PostgreSQL could not keep on one backup_label line', () => {
    expect(() => baseBackupArgv({ label: 'a\nSTART WAL LOCATION: 0/0' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('connection details', () => {
  test('a database name that libpq would read as a connection string is quoted as dbname', () => {
    expect(databaseArg('llm_analytics')).toBe('llm_analytics');
    expect(databaseArg("a=b'c")).toBe("dbname='a=b\\'c'");
    expect(databaseArg('postgresql://evil')).toBe("dbname='postgresql://evil'");
  });
});

describe('pg_control', () => {
  test('the system identifier is the first 8 bytes, little-endian, kept exact beyond 2^53', () => {
    const start = Buffer.alloc(12);
    start.writeBigUInt64LE(7712140909099047007n, 0);
    start.writeUInt32LE(1300, 8);
    expect(parseSystemIdentifier(start)).toBe('7712140909099047007');
  });
});
