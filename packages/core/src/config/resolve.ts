import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BackupError } from '../errors.js';
import { parseRepositoryUrl, type RepositorySpec } from '../storage/repository.js';
import type { Compression } from '../types/metadata.js';
import { assertDatabaseName } from '../catalog/backupId.js';
import { DEFAULTS } from './defaults.js';
import { Secret } from './secret.js';

/** What a frontend collected (flags, request body); undefined means "not given". */
export interface ConfigInput {
  repo?: string;
  s3Bucket?: string;
  s3Prefix?: string;
  awsRegion?: string;
  s3Endpoint?: string;
  database?: string;
  compression?: Compression;
  encryption?: boolean;
  encryptionKeyFile?: string;
  retentionDays?: number;
  pgHost?: string;
  pgPort?: number;
  pgUser?: string;
  pgBinDir?: string;
}

/** How to reach PostgreSQL from the host; the password travels only in the child's environment. */
export interface PgConnection {
  host?: string;
  port?: number;
  user?: string;
  password?: Secret;
}

export interface ResolvedConfig {
  repository: RepositorySpec;
  /** True when no repository was configured and the local default directory is used. */
  repositoryIsDefault: boolean;
  database: string;
  compression: Compression;
  /** Whether the user wants encryption (the default); the key may still be missing. */
  encryption: boolean;
  passphrase?: Secret;
  retentionDays: number;
  connection: PgConnection;
  pgBinDir?: string;
  /** NODE_EXTRA_CA_CERTS as bin/llm-analytics hands it over (extraCaCerts.ts), for TLS clients. */
  extraCaCertsFile?: string;
}

type Env = Record<string, string | undefined>;

/**
 * Where `bin/llm-analytics` moves NODE_EXTRA_CA_CERTS. Node reads and parses that file when the
 * process starts, before any code runs: ~0.1 s for a system bundle of ~150 certificates, a fifth
 * of a short command's start-up (and PostgreSQL starts wal-push once per WAL segment). Only the S3
 * client over HTTPS and the Kubernetes client use TLS; they read the file when they open
 * (extraCaCerts.ts).
 */
export const DEFERRED_EXTRA_CA_CERTS_ENV = 'LLM_ANALYTICS_EXTRA_CA_CERTS';

/**
 * The one place configuration is read: flags > environment > defaults of the specification.
 * Nothing below this reads process.env.
 */
export function resolveConfig(input: ConfigInput, env: Env = process.env): ResolvedConfig {
  const database = input.database ?? env.BACKUP_DATABASE ?? DEFAULTS.database;
  assertDatabaseName(database);
  const retentionDays = input.retentionDays ?? numberFromEnv(env, 'BACKUP_RETENTION_DAYS') ?? DEFAULTS.retentionDays;
  if (!Number.isInteger(retentionDays) || retentionDays < 1) {
    throw new BackupError('INVALID_ARGUMENT', `Invalid retention of ${retentionDays} days.`, 'Give --retention-days a whole number of days, 1 or more.');
  }
  const encryption = input.encryption ?? DEFAULTS.encryption;
  const extraCaCertsFile = env[DEFERRED_EXTRA_CA_CERTS_ENV] || undefined;
  const { repository, isDefault } = resolveRepository(input, env, encryption, extraCaCertsFile);
  return {
    repository,
    repositoryIsDefault: isDefault,
    database,
    compression: input.compression ?? (env.BACKUP_COMPRESSION as Compression | undefined) ?? DEFAULTS.compression,
    encryption,
    passphrase: resolvePassphrase(input, env),
    retentionDays,
    connection: {
      host: input.pgHost ?? env.PGHOST,
      port: input.pgPort ?? numberFromEnv(env, 'PGPORT'),
      user: input.pgUser ?? env.PGUSER,
      password: env.PGPASSWORD ? new Secret(env.PGPASSWORD) : undefined,
    },
    pgBinDir: input.pgBinDir ?? env.PG_BIN_DIR,
    extraCaCertsFile,
  };
}

export function defaultRepositoryPath(env: Env): string {
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(dataHome, 'llm-analytics', 'backups');
}

function resolveRepository(input: ConfigInput, env: Env, encryption: boolean, extraCaCertsFile: string | undefined): { repository: RepositorySpec; isDefault: boolean } {
  const region = input.awsRegion ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? DEFAULTS.awsRegion;
  const endpoint = input.s3Endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const withS3Options = (spec: RepositorySpec): RepositorySpec =>
    // With encryption on, S3 is also asked for SSE (AES256); servers without it go on without.
    spec.kind === 's3' ? { ...spec, region, endpoint, forcePathStyle: endpoint ? true : spec.forcePathStyle, sse: encryption ? 'AES256' : undefined, extraCaCertsFile } : spec;

  const url = input.repo ?? env.BACKUP_REPO;
  if (url) return { repository: withS3Options(parseRepositoryUrl(url)), isDefault: false };

  const bucket = input.s3Bucket ?? env.BACKUP_S3_BUCKET;
  if (bucket) {
    const prefix = input.s3Prefix ?? env.BACKUP_S3_PREFIX ?? DEFAULTS.s3Prefix;
    return { repository: withS3Options(parseRepositoryUrl(`s3://${bucket}/${prefix}`)), isDefault: false };
  }
  return { repository: { kind: 'fs', path: defaultRepositoryPath(env) }, isDefault: true };
}

function resolvePassphrase(input: ConfigInput, env: Env): Secret | undefined {
  if (input.encryptionKeyFile) {
    let text: string;
    try {
      text = readFileSync(input.encryptionKeyFile, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new BackupError('ENCRYPTION_KEY_MISSING', `Cannot read the encryption key file ${input.encryptionKeyFile} (${reason}).`, 'Check the path and its permissions.');
    }
    const key = text.replace(/\r?\n$/, '');
    if (!key) throw new BackupError('ENCRYPTION_KEY_MISSING', `The encryption key file ${input.encryptionKeyFile} is empty.`, 'Put the passphrase in the file (one line).');
    return new Secret(key);
  }
  return env.BACKUP_ENCRYPTION_PASSPHRASE ? new Secret(env.BACKUP_ENCRYPTION_PASSPHRASE) : undefined;
}

function numberFromEnv(env: Env, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new BackupError('INVALID_ARGUMENT', `${name}=${text} is not a number.`, `Set ${name} to a number or unset it.`);
  return value;
}
