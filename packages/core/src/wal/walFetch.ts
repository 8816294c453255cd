import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ResolvedConfig } from '../config/resolve.js';
import { createFrameReader } from '../pipeline/index.js';
import { readSystemIdentifier } from '../postgres/controlFile.js';
import type { Storage } from '../storage/storage.js';
import { assertArchivableWalName } from './walFileNames.js';
import { findWalObject, type WalObjectName } from './walKeys.js';
import { requirePassphrase } from './walPush.js';

export interface WalFetchOptions {
  config: ResolvedConfig;
  /** %f: the file PostgreSQL asks for. */
  fileName: string;
  /** %p: where to put it, relative to `pgdata` (restore_command runs with cwd = PGDATA) or absolute. */
  destination: string;
  pgdata: string;
  systemIdentifier?: string;
}

export type WalFetchResult =
  | { found: false; fileName: string; systemIdentifier: string }
  | { found: true; fileName: string; systemIdentifier: string; key: string; rawBytes: number };

/**
 * restore_command: fetches one archived WAL file. PostgreSQL routinely asks for files that do not
 * exist (the next timeline's history, the segment after the end of the archive): that is
 * `found: false`, not an error. The file is written to `<dest>.tmp`, synced and renamed, so
 * PostgreSQL never sees a half-written segment; encrypted chunks are authenticated before use.
 */
export async function walFetch(options: WalFetchOptions, deps: { storage: Storage }): Promise<WalFetchResult> {
  const { config, fileName } = options;
  assertArchivableWalName(fileName);
  const systemIdentifier = options.systemIdentifier ?? (await readSystemIdentifier(options.pgdata));
  const object = await findWalObject(deps.storage, systemIdentifier, fileName);
  if (!object) return { found: false, fileName, systemIdentifier };
  const destination = isAbsolute(options.destination) ? options.destination : join(options.pgdata, options.destination);
  const temporary = `${destination}.tmp`;
  try {
    const { rawBytes } = await decodeWalObject(deps.storage, object, config, temporary);
    await syncFile(temporary);
    await rename(temporary, destination);
    return { found: true, fileName, systemIdentifier, key: object.key, rawBytes };
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}

/**
 * Decodes an archived WAL object into `path` (not yet synced), authenticating encrypted chunks on
 * the way. wal-fetch and the prefetcher both fetch this way; the prefetcher also asks for the
 * SHA-256 of the bytes written (it names spool entries), a direct fetch does not pay for it.
 */
export async function decodeWalObject(
  storage: Storage,
  object: WalObjectName & { key: string },
  config: ResolvedConfig,
  path: string,
  options: { hash?: boolean } = {},
): Promise<{ rawBytes: number; sha256?: string }> {
  const reader = createFrameReader({ compression: object.compression, passphrase: object.encrypted ? requirePassphrase(config) : undefined, encrypted: object.encrypted });
  const source = await storage.get(object.key);
  if (!options.hash) {
    await pipeline(source, reader, createWriteStream(path, { mode: 0o600 }));
    return { rawBytes: reader.summary().rawBytes };
  }
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  await pipeline(source, reader, tap, createWriteStream(path, { mode: 0o600 }));
  return { rawBytes: reader.summary().rawBytes, sha256: hash.digest('hex') };
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
