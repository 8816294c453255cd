import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ResolvedConfig } from '../config/resolve.js';
import { BackupError } from '../errors.js';
import { createFrameReader, createFrameWriter } from '../pipeline/index.js';
import { readSystemIdentifier } from '../postgres/controlFile.js';
import type { Storage } from '../storage/storage.js';
import { isPartialName } from '../postgres/lsn.js';
import { assertArchivableWalName } from './walFileNames.js';
import { findWalObject, walObjectKey } from './walKeys.js';
import { walPassphrase } from './walKey.js';

export interface WalPushOptions {
  config: ResolvedConfig;
  /** %p: the file's path, relative to `pgdata` (archive_command runs with cwd = PGDATA) or absolute. */
  path: string;
  /** The data directory whose pg_control names the cluster (default: the working directory). */
  pgdata: string;
  /** Skips reading pg_control (tests, benchmarks, a cluster seen from elsewhere). */
  systemIdentifier?: string;
}

export interface WalPushResult {
  fileName: string;
  key: string;
  rawBytes: number;
  storedBytes: number;
  /** The same content was archived before: nothing was written (PostgreSQL retried after a crash). */
  alreadyArchived: boolean;
}

/**
 * archive_command: stores one WAL file. Resolves only once the object is durably stored (put is
 * atomic). PostgreSQL may push a file again after a crash between our exit and its bookkeeping:
 * the same content is a success, different content under an archived name is refused loudly and
 * never overwritten (it means two clusters or a damaged archive).
 */
export async function walPush(options: WalPushOptions, deps: { storage: Storage }): Promise<WalPushResult> {
  const { config } = options;
  const fileName = basename(options.path);
  assertArchivableWalName(fileName);
  const path = isAbsolute(options.path) ? options.path : join(options.pgdata, options.path);
  const passphrase = walPassphrase(config);
  const systemIdentifier = options.systemIdentifier ?? (await readSystemIdentifier(options.pgdata));
  const existing = await findWalObject(deps.storage, systemIdentifier, fileName);
  if (!existing) return storeWal(deps.storage, path, systemIdentifier, fileName, config, passphrase);
  const [archived, local] = await Promise.all([archivedSha256(deps.storage, existing, config), fileSha256(path)]);
  if (archived.sha256 === local) {
    return { fileName, key: existing.key, rawBytes: archived.rawBytes, storedBytes: existing.size, alreadyArchived: true };
  }
  if (isPartialName(fileName)) {
    // Two servers promoted from the same point (two PITR restores) each end the old timeline
    // with a .partial file of the same name and their own content. Recovery never fetches
    // .partial files, so keep each one, the later under a name carrying its content hash.
    const alternate = `${fileName}.${local.slice(0, 16)}`;
    const stored = await findWalObject(deps.storage, systemIdentifier, alternate);
    if (stored) return { fileName: alternate, key: stored.key, rawBytes: archived.rawBytes, storedBytes: stored.size, alreadyArchived: true };
    return storeWal(deps.storage, path, systemIdentifier, alternate, config, passphrase);
  }
  throw new BackupError(
    'OBJECT_EXISTS',
    `WAL file ${fileName} is already archived at ${deps.storage.location}/${existing.key} with DIFFERENT content; it was not overwritten.`,
    'Two clusters with the same system identifier archive to one repository, or the archive was altered. Investigate before archiving resumes: PostgreSQL retries this file until it succeeds.',
  );
}

async function storeWal(
  storage: Storage,
  path: string,
  systemIdentifier: string,
  fileName: string,
  config: ResolvedConfig,
  passphrase: string | undefined,
): Promise<WalPushResult> {
  const key = walObjectKey(systemIdentifier, fileName, config.compression, passphrase !== undefined);
  const writer = createFrameWriter({ compression: config.compression, passphrase, workers: 0 });
  const upload = storage.put(key, writer);
  await Promise.all([pipeline(createReadStream(path), writer), upload]);
  const summary = writer.summary();
  return { fileName, key, rawBytes: summary.rawBytes, storedBytes: summary.storedBytes, alreadyArchived: false };
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Decodes an archived object (authenticating it when encrypted) and hashes its raw bytes. */
export async function archivedSha256(
  storage: Storage,
  object: { key: string; compression: ResolvedConfig['compression']; encrypted: boolean },
  config: ResolvedConfig,
): Promise<{ sha256: string; rawBytes: number }> {
  const reader = createFrameReader({ compression: object.compression, passphrase: object.encrypted ? requirePassphrase(config) : undefined, encrypted: object.encrypted });
  const hash = createHash('sha256');
  let rawBytes = 0;
  reader.on('data', (chunk: Buffer) => {
    rawBytes += chunk.length;
    hash.update(chunk);
  });
  await pipeline(await storage.get(object.key), reader);
  return { sha256: hash.digest('hex'), rawBytes };
}

export function requirePassphrase(config: ResolvedConfig): string {
  const passphrase = config.passphrase?.reveal();
  if (!passphrase) {
    throw new BackupError('ENCRYPTION_KEY_MISSING', 'The archived WAL is encrypted and no encryption key is configured.', 'Set BACKUP_ENCRYPTION_PASSPHRASE or pass --encryption-key-file FILE in archive_command/restore_command.');
  }
  return passphrase;
}
