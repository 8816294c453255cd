import { Flags } from '@oclif/core';

/** Flags every command that touches a repository shares (names from the specification). */
export const repositoryFlags = {
  repo: Flags.string({ description: 'Repository: s3://bucket/prefix, file:///abs/path or a directory [env: BACKUP_REPO]' }),
  's3-bucket': Flags.string({ description: 'S3 bucket (default llm-analytics-backups when S3 is used) [env: BACKUP_S3_BUCKET]' }),
  's3-prefix': Flags.string({ description: 'Key prefix in the bucket (default timescaledb) [env: BACKUP_S3_PREFIX]' }),
  'aws-region': Flags.string({ description: 'AWS region (default us-east-1) [env: AWS_REGION]' }),
  's3-endpoint': Flags.string({ description: 'Custom S3 endpoint URL, path-style [env: AWS_ENDPOINT_URL]' }),
};

export const databaseFlag = {
  database: Flags.string({ char: 'd', description: 'Database name (default llm_analytics)' }),
};

export const encryptionKeyFlag = {
  'encryption-key-file': Flags.string({ description: 'File holding the encryption passphrase [or env: BACKUP_ENCRYPTION_PASSPHRASE]' }),
};

export const connectionFlags = {
  'pg-host': Flags.string({ description: 'PostgreSQL host [env: PGHOST]' }),
  'pg-port': Flags.integer({ description: 'PostgreSQL port [env: PGPORT]' }),
  'pg-user': Flags.string({ description: 'PostgreSQL user [env: PGUSER; password from PGPASSWORD]' }),
  'pg-bin-dir': Flags.string({ description: 'Directory of the PostgreSQL client programs [env: PG_BIN_DIR]' }),
};

export const outputFlags = {
  json: Flags.boolean({ description: 'Print one JSON document on stdout' }),
};

/** The flags above, as the core's ConfigInput. */
export function configInput(flags: Record<string, unknown>) {
  return {
    repo: flags.repo as string | undefined,
    s3Bucket: flags['s3-bucket'] as string | undefined,
    s3Prefix: flags['s3-prefix'] as string | undefined,
    awsRegion: flags['aws-region'] as string | undefined,
    s3Endpoint: flags['s3-endpoint'] as string | undefined,
    database: flags.database as string | undefined,
    encryptionKeyFile: flags['encryption-key-file'] as string | undefined,
    pgHost: flags['pg-host'] as string | undefined,
    pgPort: flags['pg-port'] as number | undefined,
    pgUser: flags['pg-user'] as string | undefined,
    pgBinDir: flags['pg-bin-dir'] as string | undefined,
  };
}
