import type { Compression } from '../types/metadata.js';
import { encodeFrame } from './codecs.js';
import { CodecPool, defaultPoolSize, sharedCodecPool, type EncodedFrame } from './codecPool.js';

/** Where a writer's frames get compressed, and how many may be compressing at once. */
export interface FrameEncoder {
  readonly parallelism: number;
  /** Memory for one frame (and its compressed form), where encode reads it best. */
  frameMemory(bytes: number): ArrayBufferLike;
  encode(frame: Buffer): Promise<EncodedFrame>;
  /** Releases a private pool, or the workers' references to this writer's frame memory. */
  close(): void;
}

/**
 * `workers` = 0 compresses on the calling thread; otherwise frames go to worker threads (the
 * shared pool when the size is the default, so consecutive objects reuse warm workers).
 */
export function createFrameEncoder(compression: Compression, level: number, workers = defaultPoolSize()): FrameEncoder {
  if (workers <= 0 || compression === 'none') {
    // 'none' is a copy; a thread hop would only add latency.
    return {
      parallelism: 1,
      frameMemory: (bytes) => Buffer.allocUnsafeSlow(bytes).buffer,
      encode: async (frame) => ({ stored: encodeFrame(compression, level, frame), memory: frame.buffer }),
      close: () => {},
    };
  }
  const isShared = workers === defaultPoolSize();
  const pool = isShared ? sharedCodecPool() : new CodecPool(workers);
  // Frames are filled in memory the workers read in place (no copy into their slots).
  const allocated: SharedArrayBuffer[] = [];
  return {
    parallelism: workers,
    frameMemory: (bytes) => {
      const memory = pool.sharedFrameMemory(bytes);
      allocated.push(memory);
      return memory;
    },
    encode: (frame) => pool.encode(compression, level, frame),
    close: () => {
      if (!isShared) void pool.close();
      else pool.forgetFrameMemory(allocated.splice(0));
    },
  };
}
