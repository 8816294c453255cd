import { createHash } from 'node:crypto';
import { BackupError, asBackupError } from '../errors.js';
import { createFrameReader, type KeepFrame } from '../pipeline/index.js';
import type { ProgressSink } from '../progress.js';
import type { Storage } from '../storage/storage.js';
import { TarWalker, type TarEntry } from '../tar/tarWalker.js';
import type { BackupMetadata, StoredObject } from '../types/metadata.js';
import { FileDigester } from './fileDigester.js';
import type { FileDigest } from './manifestCheck.js';

/** What one pass over the stored object found. */
export interface StreamFindings {
  storedBytes: number;
  /** SHA-256 (hex) of every stored byte read. */
  sha256: string;
  /** Undefined when the object was not decoded (no key for an encrypted backup). */
  decode?: {
    rawBytes: number;
    /** The first error of decryption/decompression, if any. */
    error?: BackupError;
    /** The first error of the tar structure (after decoding succeeded up to there), if any. */
    tarError?: BackupError;
    files: Map<string, FileDigest>;
    manifest?: Buffer;
    /** Names of the files in pg_wal/ (pg_basebackup -X fetch puts the WAL the backup needs there). */
    walFiles: string[];
  };
  seconds: number;
}

/**
 * Reads the stored object once: every byte is hashed as stored (the recorded SHA-256), and — when
 * it can be decoded — goes on through the frame reader (authentication of every encrypted chunk,
 * decompression with the codec's own checksums) into the tar walker, which hashes every file body
 * for the comparison with backup_manifest. A decoding failure does not stop the read: the rest of
 * the object is still hashed, so the checksum row always has an answer. Memory: one frame.
 */
export async function readBackupObject(
  metadata: BackupMetadata,
  object: StoredObject,
  deps: { storage: Storage; passphrase?: string; signal?: AbortSignal; progress?: ProgressSink },
): Promise<StreamFindings> {
  const started = Date.now();
  const source = await deps.storage.get(object.key, { signal: deps.signal });
  const storedHash = createHash('sha256');
  let storedBytes = 0;
  const canDecode = !metadata.encrypted || Boolean(deps.passphrase);
  const decoder = canDecode ? startDecoder(metadata, deps) : undefined;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      storedHash.update(chunk);
      storedBytes += chunk.length;
      if (decoder) await decoder.write(chunk);
      deps.progress?.({ phase: 'verify', bytes: storedBytes, totalBytes: object.storedSize });
    }
    if (deps.signal?.aborted) throw new BackupError('CANCELLED', 'The verification was cancelled.');
    return { storedBytes, sha256: storedHash.digest('hex'), decode: decoder ? await decoder.end() : undefined, seconds: (Date.now() - started) / 1000 };
  } finally {
    // A read that failed or was cancelled half-way must not leave the digest worker running.
    decoder?.close();
  }
}

function startDecoder(metadata: BackupMetadata, deps: { passphrase?: string; signal?: AbortSignal }) {
  // Every file's SHA-256 is computed on a worker (fileDigester.ts); digests come back in file order.
  const digester = new FileDigester();
  const ended: { path: string; size: number }[] = [];
  const walFiles: string[] = [];
  const walker = new TarWalker({
    capture: ['backup_manifest'],
    onEntry: (entry: TarEntry) => {
      if (entry.type === 'file' && entry.path.startsWith('pg_wal/')) walFiles.push(entry.path.slice('pg_wal/'.length));
    },
    onFileData: (_entry, bytes) => digester.update(bytes),
    onFileEnd: (entry) => {
      digester.endFile();
      ended.push({ path: entry.path, size: entry.size });
    },
  });
  // The walker runs inside the reader, on each decoded piece: what it throws is the tar's fault,
  // anything else the reader fails with is decoding's. The first stage to fail is where the damage is.
  let tarError: BackupError | undefined;
  let decodeError: BackupError | undefined;
  const walk = (raw: Buffer, keep?: KeepFrame) => {
    digester.beginFrame(raw, keep);
    try {
      walker.walk(raw);
    } catch (error) {
      tarError = asBackupError(error);
      throw tarError;
    } finally {
      digester.endFrame();
    }
  };
  const reader = createFrameReader({
    compression: metadata.compression,
    passphrase: metadata.encrypted ? deps.passphrase : undefined,
    encrypted: metadata.encrypted,
    parallel: true,
    signal: deps.signal,
    consumeRaw: walk,
  });
  // One waiter at a time (a drain, or the end): no listener or promise piles up per chunk, so a
  // read of any size holds the same memory.
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  let done = false;
  reader.on('error', (error) => {
    if (!tarError) decodeError ??= asBackupError(error);
    done = true;
    wakeUp();
  });
  reader.on('drain', wakeUp);
  reader.on('finish', () => {
    done = true;
    wakeUp();
  });
  const failed = () => tarError !== undefined || decodeError !== undefined || reader.destroyed;
  return {
    close: () => void digester.close(),
    async write(chunk: Buffer): Promise<void> {
      if (failed()) return;
      if (!reader.write(chunk) && !done) await new Promise<void>((resolve) => (wake = resolve));
    },
    async end() {
      if (!failed()) reader.end();
      while (!done) await new Promise<void>((resolve) => (wake = resolve));
      // Not failed(): a reader that finished cleanly is destroyed by then too (autoDestroy), and
      // the archive must still be checked for ending inside a member.
      if (!tarError && !decodeError) {
        try {
          walker.endOfInput();
        } catch (error) {
          tarError = asBackupError(error);
        }
      }
      if (tarError || decodeError) reader.destroy();
      const rawBytes = tarError || decodeError ? 0 : reader.summary().rawBytes;
      const digests = await digester.finish();
      const files = new Map<string, FileDigest>(ended.map(({ path, size }, index) => [path, { size, sha256: digests[index] as string }]));
      return { rawBytes, error: decodeError, tarError, files, manifest: walker.captured.get('backup_manifest'), walFiles };
    },
  };
}
