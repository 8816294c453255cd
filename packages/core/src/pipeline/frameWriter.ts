import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { asBackupError } from '../errors.js';
import type { Compression, FrameIndexEntry } from '../types/metadata.js';
import { cancelOnAbort } from './cancellation.js';
import { resolveLevel } from './codecs.js';
import { createObjectKey, sealChunk, type ObjectKey } from './encryption.js';
import { frameCapacity } from './codecPool.js';
import { createFrameEncoder, type FrameEncoder } from './frameEncoder.js';
import { DEFAULT_FRAME_SIZE, MAX_FRAME_SIZE, MIN_FRAME_SIZE } from './format.js';
import { invalidPipelineOption, passphraseMissing } from './pipelineErrors.js';
import { ProgressThrottle, type RawProgress } from './progressThrottle.js';

export interface FrameWriterOptions {
  compression: Compression;
  /** zstd -7…19 (default 1), gzip 0…9 (default 6); ignored for lz4 and none. */
  level?: number;
  /** Encrypts when given (see format.ts); an empty string is refused. */
  passphrase?: string;
  frameSize?: number;
  signal?: AbortSignal;
  /** Called with the raw bytes consumed so far, at most every few MiB and once at the end. */
  onProgress?: RawProgress;
  /** Compression threads: 0 = on the calling thread; default min(2, available cores). */
  workers?: number;
  /**
   * Sees every raw chunk before it is framed, and the end of the input; what it throws fails the
   * stream. For the backup's tar walker: one stream stage less per chunk than piping through it.
   */
  inspectRaw?: { walk(chunk: Buffer): void; endOfInput(): void };
}

export interface FrameWriterSummary {
  rawBytes: number;
  storedBytes: number;
  /** SHA-256 (hex) of the stored bytes, exactly as written. */
  sha256: string;
  frames: FrameIndexEntry[];
}

export interface FrameWriter extends Transform {
  /** Available once the stream has finished ('finish' / 'end'). */
  summary(): FrameWriterSummary;
  /**
   * Instead of writing chunks: read the raw stream straight into the frame being filled (a local
   * command's stdout, see Host.execInto), then end() the stream. Not mixed with write().
   */
  readonly direct: ReadTarget;
}

/** Memory handed out to a reader, who reports how much it read into it. */
export interface ReadTarget {
  /** Where the next read goes (never empty). */
  space(): Buffer;
  /** `bytes` were read into the last space(). False: stop reading until ready() resolves. */
  filled(bytes: number): boolean;
  ready(): Promise<void>;
}

/** Raw stream in, stored object out (see format.ts for the bytes). */
export function createFrameWriter(options: FrameWriterOptions): FrameWriter {
  return new FrameWriterStream(options);
}

interface PendingFrame {
  /** Position in the object: frame i is sealed as chunk i. */
  index: number;
  rawOffset: number;
  rawLength: number;
  /** The stored bytes once compressed, sealed unless the key was not ready yet. */
  parts?: Buffer[];
  sealed?: boolean;
}

class FrameWriterStream extends Transform implements FrameWriter {
  private readonly compression: Compression;
  private readonly frameSize: number;
  private readonly encoder: FrameEncoder;
  /** Frames compressing or compressed but not yet pushed: bounds memory to ~pool+2 frames. */
  private readonly maxPending: number;
  private readonly progress: ProgressThrottle;
  private readonly detachAbort: () => void;
  private readonly hash = createHash('sha256');
  private readonly inspectRaw: FrameWriterOptions['inspectRaw'];

  private current: Buffer | undefined;
  private filled = 0;
  private readonly spare: Buffer[] = [];
  private pending: PendingFrame[] = [];
  private readonly frames: FrameIndexEntry[] = [];
  private rawBytes = 0;
  private storedBytes = 0;

  private key: ObjectKey | undefined;
  private readonly keyReady: Promise<ObjectKey> | undefined;
  private headerWritten = false;
  private framesDispatched = 0;

  /** The reader has not asked for more since the last push returned false. */
  private blocked = false;
  private emitting = false;
  private waiter: (() => void) | undefined;
  private result: FrameWriterSummary | undefined;

  constructor(options: FrameWriterOptions) {
    super();
    this.compression = options.compression;
    this.inspectRaw = options.inspectRaw;
    const level = resolveLevel(options.compression, options.level);
    this.frameSize = options.frameSize ?? DEFAULT_FRAME_SIZE;
    if (!Number.isInteger(this.frameSize) || this.frameSize < MIN_FRAME_SIZE || this.frameSize > MAX_FRAME_SIZE) {
      throw invalidPipelineOption(`Frame size ${this.frameSize} must be a whole number of bytes from ${MIN_FRAME_SIZE} to ${MAX_FRAME_SIZE}.`);
    }
    if (options.passphrase !== undefined) {
      if (options.passphrase.length === 0) throw passphraseMissing();
      this.keyReady = createObjectKey(options.passphrase);
      this.keyReady.then(
        (key) => {
          this.key = key;
          this.emitReady();
        },
        (error: unknown) => this.destroy(asBackupError(error)),
      );
    }
    this.encoder = createFrameEncoder(options.compression, level, options.workers);
    this.maxPending = this.encoder.parallelism + 1;
    this.progress = new ProgressThrottle(options.onProgress);
    this.detachAbort = cancelOnAbort(this, options.signal);
  }

  readonly direct: ReadTarget = {
    space: () => {
      if (this.destroyed) throw new Error('frame writer destroyed');
      this.current ??= this.spare.pop() ?? this.newFrameBuffer();
      return this.current.subarray(this.filled, this.frameSize);
    },
    filled: (bytes) => {
      const current = this.current as Buffer;
      this.inspectRaw?.walk(current.subarray(this.filled, this.filled + bytes));
      this.advance(bytes);
      this.progress.update(this.rawBytes);
      return this.pending.length < this.maxPending;
    },
    ready: () => this.untilPendingBelow(this.maxPending),
  };

  summary(): FrameWriterSummary {
    if (!this.result) throw new Error('The frame writer summary is available only after the stream finished.');
    return this.result;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.inspectRaw?.walk(chunk);
    } catch (error) {
      callback(asBackupError(error));
      return;
    }
    this.accept(chunk);
    this.progress.update(this.rawBytes);
    this.untilPendingBelow(this.maxPending).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.inspectRaw?.endOfInput();
    } catch (error) {
      callback(asBackupError(error));
      return;
    }
    this.finishObject().then(() => callback(), (error: unknown) => callback(asBackupError(error)));
  }

  override _read(size: number): void {
    this.blocked = false;
    super._read(size);
    this.emitReady();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.detachAbort();
    this.encoder.close();
    this.pending = [];
    this.current = undefined;
    this.spare.length = 0;
    // Let a write or flush waiting for room see that the stream is gone.
    const wake = this.waiter;
    this.waiter = undefined;
    wake?.();
    callback(error);
  }

  private async finishObject(): Promise<void> {
    // An empty stream still gets one (empty) frame so the object is a valid .zst/.gz/.lz4.
    if (this.filled > 0 || (this.rawBytes === 0 && this.compression !== 'none')) this.dispatchCurrent();
    await this.untilPendingBelow(1);
    if (this.keyReady) {
      const key = await this.keyReady;
      this.writeHeader(key);
      this.output(sealChunk(key, Buffer.alloc(0), this.framesDispatched, true));
    }
    this.progress.finish(this.rawBytes);
    this.result = {
      rawBytes: this.rawBytes,
      storedBytes: this.storedBytes,
      sha256: this.hash.digest('hex'),
      frames: this.frames,
    };
  }

  /** Copies input into frame buffers and sends every full frame off to be compressed. */
  private accept(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      this.current ??= this.spare.pop() ?? this.newFrameBuffer();
      const copied = chunk.copy(this.current, this.filled, at, at + this.frameSize - this.filled);
      at += copied;
      this.advance(copied);
    }
  }

  /** `bytes` more of the current frame are filled; a full frame goes off to be compressed. */
  private advance(bytes: number): void {
    this.filled += bytes;
    this.rawBytes += bytes;
    if (this.filled === this.frameSize) this.dispatchCurrent();
  }

  private dispatchCurrent(): void {
    const memory = this.current ?? this.newFrameBuffer();
    const frame = memory.subarray(0, this.filled);
    const entry: PendingFrame = { index: this.framesDispatched++, rawOffset: this.rawBytes - this.filled, rawLength: this.filled };
    this.current = undefined;
    this.filled = 0;
    this.pending.push(entry);
    this.encoder.encode(frame).then(
      (encoded) => {
        if (this.destroyed) return;
        this.settle(entry, encoded.stored, encoded.memory);
        this.recycle(encoded.memory);
        this.emitReady();
      },
      (error: unknown) => this.destroy(asBackupError(error)),
    );
  }

  /**
   * Seals a frame as soon as it is compressed (its chunk number is its frame index), so the frame
   * buffer, which may hold the compressed bytes, can be reused at once. Before the key is derived
   * the bytes are copied out and sealed when emitted.
   */
  private settle(entry: PendingFrame, stored: Buffer, memory: ArrayBufferLike): void {
    if (this.key) {
      entry.parts = sealChunk(this.key, stored, entry.index, false);
      entry.sealed = true;
    } else {
      entry.parts = [stored.buffer === memory ? Buffer.from(stored) : stored];
      entry.sealed = !this.keyReady;
    }
  }

  private newFrameBuffer(): Buffer {
    return Buffer.from(this.encoder.frameMemory(frameCapacity(this.frameSize)));
  }

  private recycle(memory: ArrayBufferLike): void {
    // Keep every frame buffer once allocated (at most maxPending + 1 exist): a fresh 8 MiB buffer
    // per frame cost page faults and a major GC every few frames.
    if (memory.byteLength !== frameCapacity(this.frameSize) || this.spare.length > this.maxPending) return;
    this.spare.push(Buffer.from(memory));
  }

  /** Pushes finished frames in order, as far as the reader keeps up; then lets input resume. */
  private emitReady(): void {
    // Re-entry (a push that synchronously leads to _read) must not interleave two frames' parts.
    if (this.emitting || this.destroyed || (this.keyReady && !this.key)) return;
    this.emitting = true;
    try {
      while (!this.blocked && this.pending[0]?.parts) {
        this.emitFrame(this.pending.shift() as PendingFrame);
      }
    } finally {
      this.emitting = false;
    }
    const wake = this.waiter;
    this.waiter = undefined;
    wake?.();
  }

  private emitFrame(entry: PendingFrame): void {
    if (this.key) this.writeHeader(this.key);
    const storedOffset = this.storedBytes;
    const parts = entry.sealed ? (entry.parts as Buffer[]) : sealChunk(this.key as ObjectKey, (entry.parts as Buffer[])[0] as Buffer, entry.index, false);
    this.output(parts);
    this.frames.push({ rawOffset: entry.rawOffset, rawLength: entry.rawLength, storedOffset, storedLength: this.storedBytes - storedOffset });
  }

  private writeHeader(key: ObjectKey): void {
    if (this.headerWritten) return;
    this.headerWritten = true;
    this.output([key.headerBytes]);
  }

  private output(parts: Buffer[]): void {
    for (const part of parts) {
      this.hash.update(part);
      this.storedBytes += part.length;
      if (!this.push(part)) this.blocked = true;
    }
  }

  private async untilPendingBelow(limit: number): Promise<void> {
    while (this.pending.length >= limit) {
      if (this.destroyed) throw new Error('frame writer destroyed');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }
}
