import { finished } from 'node:stream/promises';
import { createGunzip, type Gunzip } from 'node:zlib';
import { decompressFrameSync } from 'lz4-napi';
import zstdBinding from 'zstd-napi/binding.js';
import type { Compression } from '../types/metadata.js';
import { MAX_CHUNK_CIPHERTEXT_LENGTH } from './format.js';
import { Lz4FrameSplitter } from './lz4FrameSplitter.js';
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

export type Emit = (raw: Buffer) => void;

export function createStreamDecoder(compression: Compression, emit: Emit): StreamDecoder {
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
