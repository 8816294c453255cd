import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BackupError, asBackupError } from '../errors.js';
import type { Compression } from '../types/metadata.js';
import { cancelOnAbort } from './cancellation.js';
import { sharedCodecPool } from './codecPool.js';
import { ENCRYPTION_MAGIC, isEncrypted } from './format.js';
import { dataCorrupt, passphraseMissing } from './pipelineErrors.js';
import { ProgressThrottle, type RawProgress } from './progressThrottle.js';
import { SealedStreamOpener } from './sealedStreamOpener.js';
import { createStreamDecoder, type KeepFrame, type StreamDecoder, type TakeFrame } from './streamDecoders.js';

export interface FrameReaderOptions {
  compression: Compression;
  passphrase?: string;
  /**
   * Whether the object must be encrypted. Defaults to true when a passphrase is given (so an
   * object swapped for, or damaged into, an unencrypted-looking one is refused rather than
   * passed through) and to 'detect' otherwise. 'detect' sniffs the magic: for repositories that
   * hold objects from before encryption was turned on.
   */
  encrypted?: boolean | 'detect';
  /** SHA-256 (hex) recorded for the stored object; a mismatch fails with CHECKSUM_MISMATCH. */
  expectedSha256?: string;
  signal?: AbortSignal;
  /** Called with the raw bytes produced so far, at most every few MiB and once at the end. */
  onProgress?: RawProgress;
  /**
   * Decode zstd frames on the shared worker pool, in parallel. For whole backups; small
   * objects such as WAL segments are faster decoded inline.
   */
  parallel?: boolean;
  /**
   * Hands the raw bytes to this function, in order, instead of passing them downstream (the
   * reader's readable side then ends empty). The bytes are valid only during the call: they may
   * be a view into a codec worker's memory, which is what this saves copying. Whatever it throws
   * fails the stream. For restore and verify, whose tar walker writes or hashes every piece at once.
   * `keep`, when given, holds the bytes past the call (see KeepFrame): verify's file digests are
   * computed from them where they lie, on another thread.
   */
  consumeRaw?: (raw: Buffer, keep?: KeepFrame) => void;
  /**
   * zstd only: whole stored frames (authenticated, still compressed) go to this function, which
   * decodes them itself; the raw byte count then stays 0 (see DecoderOptions.takeFrame).
   */
  takeFrame?: TakeFrame;
}

export interface FrameReaderSummary {
  storedBytes: number;
  rawBytes: number;
  /** SHA-256 (hex) of the stored bytes read. */
  sha256: string;
}

export interface FrameReader extends Transform {
  /** Available once the stream has ended. */
  summary(): FrameReaderSummary;
}

/**
 * Stored object in, raw stream out. Encrypted chunks are released only after authentication;
 * unencrypted frames are checked by their codec's checksum as they stream, and the object as a
 * whole against `expectedSha256` at the end (raw bytes before that point are not yet verified).
 */
export function createFrameReader(options: FrameReaderOptions): FrameReader {
  return new FrameReaderStream(options);
}

class FrameReaderStream extends Transform implements FrameReader {
  private readonly hash = createHash('sha256');
  private readonly decoder: StreamDecoder;
  private readonly progress: ProgressThrottle;
  private readonly detachAbort: () => void;
  private storedBytes = 0;
  private rawBytes = 0;
  /** Until the first bytes decide whether the object is encrypted. */
  private sniffed: Buffer[] | undefined = [];
  private opener: SealedStreamOpener | undefined;
  private result: FrameReaderSummary | undefined;
  /** What options.consumeRaw threw, if it did. */
  private consumerFailure: BackupError | undefined;

  constructor(private readonly options: FrameReaderOptions) {
    super();
    const { consumeRaw } = options;
    this.decoder = createStreamDecoder(options.compression, (raw, keep) => {
      this.rawBytes += raw.length;
      if (!consumeRaw) this.push(raw);
      else if (!this.consumerFailure) {
        // Kept and thrown after the decoder's call returns: the gzip decoder emits from an event.
        try {
          consumeRaw(raw, keep);
        } catch (error) {
          this.consumerFailure = asBackupError(error);
        }
      }
      this.progress.update(this.rawBytes);
    }, { pool: options.parallel ? sharedCodecPool() : undefined, emitConsumesAtOnce: consumeRaw !== undefined, takeFrame: options.takeFrame });
    this.progress = new ProgressThrottle(options.onProgress);
    this.detachAbort = cancelOnAbort(this, options.signal);
    // Nothing comes out of the readable side then: let it flow, so it ends with the input.
    if (consumeRaw || options.takeFrame) this.resume();
  }

  summary(): FrameReaderSummary {
    if (!this.result) throw new Error('The frame reader summary is available only after the stream ended.');
    return this.result;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.storedBytes += chunk.length;
    this.consume(chunk, false).then(() => callback(), (error: unknown) => callback(asBackupError(error)));
  }

  override _flush(callback: TransformCallback): void {
    this.finishObject().then(() => callback(), (error: unknown) => callback(asBackupError(error)));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.detachAbort();
    this.decoder.destroy();
    callback(error);
  }

  private async consume(chunk: Buffer, atEnd: boolean): Promise<void> {
    if (this.sniffed) {
      this.sniffed.push(chunk);
      const head = Buffer.concat(this.sniffed);
      if (head.length < ENCRYPTION_MAGIC.length && !atEnd) return;
      this.sniffed = undefined;
      this.chooseLayout(head);
      chunk = head;
    }
    if (chunk.length === 0) return;
    if (!this.opener) await this.decoder.write(chunk);
    else for (const plaintext of await this.opener.push(chunk)) await this.decoder.write(plaintext);
    if (this.consumerFailure) throw this.consumerFailure;
  }

  private chooseLayout(head: Buffer): void {
    const mode = this.options.encrypted ?? (this.options.passphrase === undefined ? 'detect' : true);
    const encrypted = mode === 'detect' ? isEncrypted(head) : mode;
    if (!encrypted) return;
    if (this.options.passphrase === undefined || this.options.passphrase.length === 0) throw passphraseMissing();
    this.opener = new SealedStreamOpener(this.options.passphrase);
  }

  private async finishObject(): Promise<void> {
    if (this.sniffed) await this.consume(Buffer.alloc(0), true);
    const sha256 = this.hash.digest('hex');
    const expected = this.options.expectedSha256;
    if (expected !== undefined && expected.toLowerCase() !== sha256) {
      throw new BackupError(
        'CHECKSUM_MISMATCH',
        `The stored object's SHA-256 is ${sha256}, but the backup recorded ${expected}: it changed after it was written.`,
        'Restore from another backup, and check the storage for damage or tampering.',
      );
    }
    this.opener?.finish();
    await this.decoder.end();
    if (this.consumerFailure) throw this.consumerFailure;
    if (!this.opener && this.options.compression !== 'none' && this.storedBytes === 0) {
      // The writer always stores at least one frame for a compressed object.
      throw dataCorrupt(`The ${this.options.compression} object is empty: it holds no frame at all.`);
    }
    this.progress.finish(this.rawBytes);
    this.result = { storedBytes: this.storedBytes, rawBytes: this.rawBytes, sha256 };
  }
}
