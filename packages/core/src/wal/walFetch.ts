import { createWriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ResolvedConfig } from '../config/resolve.js';
import { createFrameReader } from '../pipeline/index.js';
import { readSystemIdentifier } from '../postgres/controlFile.js';
import type { Storage } from '../storage/storage.js';
import { assertArchivableWalName } from './walFileNames.js';
import { findWalObject } from './walKeys.js';
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

export type WalFetchResult = { found: false; fileName: string } | { found: true; fileName: string; key: string; rawBytes: number };

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
  if (!object) return { found: false, fileName };
  const destination = isAbsolute(options.destination) ? options.destination : join(options.pgdata, options.destination);
  const temporary = `${destination}.tmp`;
  const reader = createFrameReader({ compression: object.compression, passphrase: object.encrypted ? requirePassphrase(config) : undefined, encrypted: object.encrypted });
  try {
    await pipeline(await deps.storage.get(object.key), reader, createWriteStream(temporary, { mode: 0o600 }));
    const handle = await open(temporary, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, destination);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  return { found: true, fileName, key: object.key, rawBytes: reader.summary().rawBytes };
}
