import type { Storage } from '../storage/storage.js';
import type { Compression } from '../types/metadata.js';
import { storedExtension, walDir } from '../catalog/layout.js';

/**
 * Archived WAL lives at `wal/<system-identifier>/<file name><ext>`: `<file name>` is what
 * PostgreSQL passes as %f (a segment, `.history`, `.partial` or `.backup` file) and `<ext>` says
 * how it is stored (`.zst`, `.lz4`, `.gz`, "" and `.enc` when encrypted), as for backups. The
 * system identifier keeps clusters apart when they share a repository.
 */
export function walObjectKey(systemIdentifier: string, fileName: string, compression: Compression, encrypted: boolean): string {
  return `${walDir(systemIdentifier)}${fileName}${storedExtension(compression, encrypted)}`;
}

/** What an archived WAL object's key says about it. */
export interface WalObjectName {
  fileName: string;
  compression: Compression;
  encrypted: boolean;
}

const EXTENSIONS: readonly [string, Compression][] = [['.zst', 'zstd'], ['.lz4', 'lz4'], ['.gz', 'gzip']];

export function parseWalObjectKey(key: string): WalObjectName {
  let name = key.slice(key.lastIndexOf('/') + 1);
  const encrypted = name.endsWith('.enc');
  if (encrypted) name = name.slice(0, -'.enc'.length);
  for (const [extension, compression] of EXTENSIONS) {
    if (name.endsWith(extension)) return { fileName: name.slice(0, -extension.length), compression, encrypted };
  }
  return { fileName: name, compression: 'none', encrypted };
}

/**
 * Finds the archived object of one WAL file, whatever it was stored with (one LIST under its
 * name). Undefined when it is not archived.
 */
export async function findWalObject(storage: Storage, systemIdentifier: string, fileName: string): Promise<(WalObjectName & { key: string; size: number }) | undefined> {
  for await (const object of storage.list(`${walDir(systemIdentifier)}${fileName}`)) {
    const parsed = parseWalObjectKey(object.key);
    if (parsed.fileName === fileName) return { ...parsed, key: object.key, size: object.size };
  }
  return undefined;
}
