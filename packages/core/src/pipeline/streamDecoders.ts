import { finished } from 'node:stream/promises';
import { createGunzip, type Gunzip } from 'node:zlib';
import { decompressFrameSync } from 'lz4-napi';
import zstdBinding from 'zstd-napi/binding.js';
import type { Compression } from '../types/metadata.js';
import { MAX_CHUNK_CIPHERTEXT_LENGTH } from './format.js';
import { decodesOnWorkers, type CodecPool, type DecodedFrame } from './codecPool.js';
import { Lz4FrameSplitter } from './lz4FrameSplitter.js';
import { ZstdFrameSplitter } from './zstdFrameSplitter.js';
import { asDecodeError, dataCorrupt } from './pipelineErrors.js';

/**
 * Streaming decoders for concatenated frames. Each takes stored bytes in arbitrary pieces and
 * hands raw bytes to `emit` as they are decoded; `end` fails when the input stopped inside a frame.
 * Errors are always DATA_CORRUPT, never a raw library error.
 */
export interface StreamDecoder {
  write(stored: Buffer): void | Promise<void>;
  end(): void | Promise<void>;
  destroy(): void;
}

/**
 * Offered with raw bytes that lie in a codec worker's memory: calling it keeps them valid after the
 * emit returns (the worker takes no other frame meanwhile) until the release it returns is called.
 */
export type KeepFrame = () => () => void;

export type Emit = (raw: Buffer, keep?: KeepFrame) => void;

export interface DecoderOptions {
  /**
   * Decode zstd frames on these worker threads, several at once, emitting them in order: for
   * whole backups, where the codec would otherwise hold the main thread. Small objects (WAL
   * segments) decode inline: a worker hop costs more than it saves there.
   */
  pool?: CodecPool;
  /**
   * `emit` is done with the bytes when it returns (it writes or hashes them, and keeps no
   * reference unless it calls the `keep` it is offered): frames decoded on the pool are then
   * emitted straight from the worker's memory, not copied out first.
   */
  emitConsumesAtOnce?: boolean;
  /**
   * zstd only: each whole stored frame goes to this function instead of being decoded here, in
   * order, with its position in the object (restore's frame extractor decodes where it writes).
   * Nothing is emitted then. The next frame waits until the promise resolves.
   */
  takeFrame?: TakeFrame;
}

/** One whole stored frame, as the pieces of input it spans, and its position in the object. */
export type TakeFrame = (stored: readonly Buffer[], index: number) => Promise<void>;

export function createStreamDecoder(compression: Compression, emit: Emit, options: DecoderOptions = {}): StreamDecoder {
  const { pool, takeFrame } = options;
  if (takeFrame && compression === 'zstd') return new FrameHandOff(takeFrame);
  if (pool && decodesOnWorkers(compression)) return new ParallelFrameDecoder(compression, pool, emit, options.emitConsumesAtOnce ?? false);
  switch (compression) {
    case 'zstd':
      return new ZstdStreamDecoder(emit);
    case 'gzip':
      return new GzipStreamDecoder(emit);
    case 'lz4':
      return new Lz4StreamDecoder(emit);
    case 'none':
      return { write: emit, end: () => {}, destroy: () => {} };
  }
}

/** 1 MiB output slices: fewer native calls than zstd's 128 KiB suggestion, still small. */
const ZSTD_OUTPUT_BYTES = 1024 * 1024;

class ZstdStreamDecoder implements StreamDecoder {
  private readonly dctx = new zstdBinding.DCtx();
  private inFrame = false;

  constructor(private readonly emit: Emit) {}

  write(stored: Buffer): void {
    let input = stored;
    try {
      for (;;) {
        const output = Buffer.allocUnsafe(ZSTD_OUTPUT_BYTES);
        const [remaining, produced, consumed] = this.dctx.decompressStream(output, input);
        if (produced > 0) this.emit(output.subarray(0, produced));
        input = input.subarray(consumed);
        // Done with this piece once it is consumed and the decoder has nothing left to flush.
        if (input.length === 0 && (produced < output.length || remaining === 0)) {
          this.inFrame = remaining !== 0;
          return;
        }
      }
    } catch (error) {
      throw asDecodeError(error, 'as zstd');
    }
  }

  end(): void {
    if (this.inFrame) throw dataCorrupt('The zstd data is truncated: it ends in the middle of a frame.');
  }

  destroy(): void {}
}

class Lz4StreamDecoder implements StreamDecoder {
  private readonly splitter = new Lz4FrameSplitter(MAX_CHUNK_CIPHERTEXT_LENGTH);

  constructor(private readonly emit: Emit) {}

  write(stored: Buffer): void {
    for (const frame of this.splitter.push(stored)) {
      let raw: Buffer;
      try {
        raw = decompressFrameSync(frame);
      } catch (error) {
        throw asDecodeError(error, 'as lz4');
      }
      if (raw.length > 0) this.emit(raw);
    }
  }

  end(): void {
    this.splitter.finish();
  }

  destroy(): void {}
}

/**
 * zlib has no synchronous streaming inflate, so gzip goes through a Gunzip stream (which also
 * handles concatenated members). Its output for a piece is emitted before the write callback.
 */
class GzipStreamDecoder implements StreamDecoder {
  private readonly gunzip: Gunzip;
  private failure: Error | undefined;
  private readonly failed: Promise<never>;

  constructor(emit: Emit) {
    this.gunzip = createGunzip();
    this.gunzip.on('data', emit);
    this.failed = new Promise<never>((_, reject) => {
      this.gunzip.once('error', (error) => {
        this.failure = error;
        reject(asDecodeError(error, 'as gzip'));
      });
    });
    this.failed.catch(() => {});
  }

  async write(stored: Buffer): Promise<void> {
    if (this.failure) return this.failed;
    await Promise.race([new Promise<void>((resolve) => this.gunzip.write(stored, () => resolve())), this.failed]);
    if (this.failure) return this.failed;
  }

  /** Waits for the readable side to end too: the last members' output is emitted by then. */
  async end(): Promise<void> {
    if (this.failure) return this.failed;
    this.gunzip.end();
    await Promise.race([finished(this.gunzip).catch(() => {}), this.failed]);
    if (this.failure) return this.failed;
  }

  destroy(): void {
    this.gunzip.destroy();
  }
}

/**
 * Cuts the stored stream into frames and decodes them on the pool's workers, with one frame per
 * worker plus one more in flight (two per worker only added memory: the main thread keeps up);
 * raw frames are emitted in stored order. `write` resolves once there is room for more, so memory
 * stays bounded by the frames in flight.
 */
class ParallelFrameDecoder implements StreamDecoder {
  private readonly splitter: ZstdFrameSplitter;
  private readonly inFlight: Promise<DecodedFrame>[] = [];
  private readonly maxInFlight: number;

  constructor(
    private readonly compression: 'zstd',
    private readonly pool: CodecPool,
    private readonly emit: Emit,
    private readonly emitConsumesAtOnce: boolean,
  ) {
    this.splitter = new ZstdFrameSplitter(MAX_CHUNK_CIPHERTEXT_LENGTH);
    this.maxInFlight = pool.size + 1;
  }

  async write(stored: Buffer): Promise<void> {
    for (const frame of this.splitter.push(stored)) {
      const decoded = this.pool.decodeInPlace(this.compression, frame);
      // Awaited in order below; until then a failure must not count as unhandled.
      decoded.catch(() => {});
      this.inFlight.push(decoded);
      if (this.inFlight.length >= this.maxInFlight) await this.emitOldest();
    }
  }

  async end(): Promise<void> {
    this.splitter.finish();
    while (this.inFlight.length > 0) await this.emitOldest();
  }

  /** Frames still decoding give their worker back when they are done. */
  destroy(): void {
    for (const decoded of this.inFlight.splice(0)) decoded.then((frame) => frame.release(), () => {});
  }

  private async emitOldest(): Promise<void> {
    const frame = await (this.inFlight[0] as Promise<DecodedFrame>);
    this.inFlight.shift();
    let kept = false;
    const keep = frame.owned ? undefined : () => ((kept = true), frame.release);
    try {
      if (frame.bytes.length === 0) return;
      if (this.emitConsumesAtOnce || frame.owned) this.emit(frame.bytes, keep);
      else this.emit(Buffer.from(frame.bytes));
    } finally {
      if (!kept) frame.release();
    }
  }
}

/** Cuts the stored stream into whole zstd frames and hands each on undecoded (see takeFrame). */
class FrameHandOff implements StreamDecoder {
  private readonly splitter = new ZstdFrameSplitter(MAX_CHUNK_CIPHERTEXT_LENGTH);
  private index = 0;

  constructor(private readonly takeFrame: TakeFrame) {}

  async write(stored: Buffer): Promise<void> {
    for (const frame of this.splitter.pushPieces(stored)) await this.takeFrame(frame, this.index++);
  }

  end(): void {
    this.splitter.finish();
  }

  destroy(): void {}
}
