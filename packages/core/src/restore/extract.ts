import { pipeline } from 'node:stream/promises';
import { BackupError } from '../errors.js';
import type { Host } from '../host/host.js';
import { createFrameReader, openObjectKey, type KeepFrame } from '../pipeline/index.js';
import type { ProgressSink } from '../progress.js';
import { streamToBuffer } from '../storage/objects.js';
import type { Storage } from '../storage/storage.js';
import { TarWalker } from '../tar/tarWalker.js';
import type { BackupMetadata, Compression, FrameIndexEntry } from '../types/metadata.js';
import type { TarPosition } from '../tar/tarParser.js';

/**
 * Streams a backup's data object into `tar -x` on the host (or, on a local host, into files
 * written by this process, see host/tarExtractor.ts): storage → (checksum while reading) →
 * decrypt (every chunk authenticated before it is released) → decompress → tar header check →
 * tar on the host. The caller removes the target if this fails: the stored sha256 is only known
 * to match at the very end.
 */
export async function extractBackup(
  metadata: BackupMetadata,
  targetDir: string,
  deps: { storage: Storage; host: Host; progress: ProgressSink; passphrase?: string; signal?: AbortSignal },
): Promise<{ files: number; rawBytes: number }> {
  const object = metadata.objects[0];
  if (!object) throw new BackupError('METADATA_INVALID', `Backup ${metadata.id} lists no data object.`, 'The backup is incomplete; use another one.');
  if (metadata.encrypted && !deps.passphrase) {
    throw new BackupError('ENCRYPTION_KEY_MISSING', `Backup ${metadata.id} is encrypted and no encryption key is configured.`, 'Set BACKUP_ENCRYPTION_PASSPHRASE or pass --encryption-key-file FILE with the key the backup was made with.');
  }
  const source = await deps.storage.get(object.key, { signal: deps.signal });
  const readerOptions = {
    compression: metadata.compression,
    passphrase: metadata.encrypted ? deps.passphrase : undefined,
    expectedSha256: object.sha256,
    parallel: true,
    signal: deps.signal,
    onProgress: (bytes: number) => deps.progress({ phase: 'restore', bytes, totalBytes: object.rawSize }),
  };
  const starts = framePositions(metadata.compression, object.frames);
  const frameExtractor = starts && deps.host.frameExtractor?.(targetDir, {
    starts,
    rawLengths: object.frames.map((frame) => frame.rawLength),
    onProgress: readerOptions.onProgress,
  });
  if (frameExtractor) {
    // Frames extracted in parallel, each decoded and written by one thread (host/frameExtractor.ts).
    const reader = createFrameReader({ ...readerOptions, parallel: false, onProgress: undefined, takeFrame: (frame, index) => frameExtractor.extract(frame, index) });
    try {
      await pipeline(source, reader, { signal: deps.signal });
      const { entries, rawBytes } = await frameExtractor.finish();
      return { files: entries, rawBytes };
    } finally {
      await frameExtractor.close();
    }
  }
  const extractor = deps.host.tarExtractor?.(targetDir);
  if (extractor) {
    // A local host writes the files itself, straight from the decoders' memory; the walker's
    // checks run before any member is written.
    const walker = new TarWalker(extractor.callbacks);
    const walk = (raw: Buffer, keep?: KeepFrame) => {
      extractor.beginFrame(raw, keep);
      try {
        walker.walk(raw);
      } finally {
        extractor.endFrame();
      }
    };
    const reader = createFrameReader({ ...readerOptions, consumeRaw: walk });
    try {
      await pipeline(source, reader, { signal: deps.signal });
      walker.endOfInput();
      await extractor.finish();
    } finally {
      await extractor.close();
    }
    return { files: walker.entryCount, rawBytes: reader.summary().rawBytes };
  }
  const reader = createFrameReader(readerOptions);
  const walker = new TarWalker();
  const tar = deps.host.execSink(['tar', '-x', '-f', '-', '-C', targetDir], { signal: deps.signal });
  try {
    await pipeline(source, reader, walker, tar.stdin, { signal: deps.signal });
  } catch (error) {
    await tar.done.catch(() => undefined);
    throw error;
  }
  const result = await tar.done;
  if (result.exitCode !== 0) {
    throw new BackupError('HOST_COMMAND_FAILED', `tar could not extract the backup into ${targetDir}: ${result.stderr.trim()}`, 'Check free space and permissions of the target directory.');
  }
  return { files: walker.entryCount, rawBytes: reader.summary().rawBytes };
}

/** Where each frame starts in the tar, when the backup recorded it for every frame (zstd only). */
function framePositions(compression: Compression, frames: readonly FrameIndexEntry[]): TarPosition[] | undefined {
  if (compression !== 'zstd' || frames.length === 0) return undefined;
  const starts = frames.map((frame) => frame.tar);
  return starts.every((start): start is TarPosition => start !== undefined) ? starts : undefined;
}

/**
 * Derives an encrypted backup's key now, from its object's header (a ranged read), so that the
 * extraction finds it cached: scrypt takes ~0.15 s, which otherwise delays the first frame. For
 * the caller to start while it prepares the target. Failures are left to the extraction to report.
 */
export async function prepareObjectKey(metadata: BackupMetadata, storage: Storage, passphrase: string | undefined): Promise<void> {
  const object = metadata.objects[0];
  const headerBytes = object?.frames[0]?.storedOffset ?? 0;
  if (!object || !metadata.encrypted || !passphrase || headerBytes === 0) return;
  try {
    const header = await streamToBuffer(await storage.get(object.key, { range: { start: 0, end: headerBytes - 1 } }));
    await openObjectKey(header, passphrase);
  } catch {
    // The extraction reads the same header and reports what is wrong with it.
  }
}
