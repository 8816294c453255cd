import { gunzipSync, gzipSync } from 'node:zlib';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { Compressor, Decompressor } from 'zstd-napi';
import type { Compression } from '../types/metadata.js';
import { MAX_CHUNK_CIPHERTEXT_LENGTH } from './format.js';
import { Lz4FrameSplitter } from './lz4FrameSplitter.js';
import { asDecodeError, invalidPipelineOption } from './pipelineErrors.js';

/**
 * Per-frame codecs. The frame parameters below are part of the stored format (format.ts): the
 * zstd content checksum and LZ4 content checksum are what make a flipped byte in an unencrypted
 * object an error instead of silently wrong data. The worker pool (codecPool.ts) applies
 * the same parameters; a test checks both produce identical bytes.
 */
export const ZSTD_FRAME_PARAMETERS = { checksumFlag: true, contentSizeFlag: true } as const;
export const LZ4_FRAME_OPTIONS = { contentChecksum: true } as const;

/**
 * zstd 1: on a 640 MB pg_basebackup tar, level 3 cost ~1.3x the CPU of level 1 for a 3% smaller
 * object, and on two cores level 1 with two workers already trails pg_basebackup (≈300 vs
 * ≈540 MB/s). gzip 6 is gzip's own default.
 */
export const DEFAULT_LEVELS: Record<Compression, number> = { zstd: 1, gzip: 6, lz4: 0, none: 0 };

const LEVEL_RANGES: Partial<Record<Compression, [number, number]>> = { zstd: [-7, 19], gzip: [0, 9] };

export function resolveLevel(compression: Compression, level: number | undefined): number {
  const range = LEVEL_RANGES[compression];
  if (level === undefined || !range) return DEFAULT_LEVELS[compression];
  if (!Number.isInteger(level) || level < range[0] || level > range[1]) {
    throw invalidPipelineOption(`Compression level ${level} is not valid for ${compression} (${range[0]} to ${range[1]}).`);
  }
  return level;
}

const zstdCompressors = new Map<number, Compressor>();

function zstdCompressor(level: number): Compressor {
  let compressor = zstdCompressors.get(level);
  if (!compressor) {
    compressor = new Compressor();
    compressor.setParameters({ ...ZSTD_FRAME_PARAMETERS, compressionLevel: level });
    zstdCompressors.set(level, compressor);
  }
  return compressor;
}

/** Compresses one frame on the calling thread. */
export function encodeFrame(compression: Compression, level: number, raw: Buffer): Buffer {
  switch (compression) {
    case 'zstd':
      return zstdCompressor(level).compress(raw);
    case 'gzip':
      return gzipSync(raw, { level });
    case 'lz4':
      return compressFrameSync(raw, LZ4_FRAME_OPTIONS);
    case 'none':
      return Buffer.from(raw);
  }
}

let zstdDecompressor: Decompressor | undefined;

/**
 * Decodes one stored frame (or several concatenated) fetched on its own, e.g. by a ranged GET of
 * a frame index entry. Decoder errors become DATA_CORRUPT.
 */
export function decodeFrame(compression: Compression, stored: Buffer): Buffer {
  try {
    switch (compression) {
      case 'zstd':
        zstdDecompressor ??= new Decompressor();
        return zstdDecompressor.decompress(stored);
      case 'gzip':
        return gunzipSync(stored);
      case 'lz4': {
        const splitter = new Lz4FrameSplitter(MAX_CHUNK_CIPHERTEXT_LENGTH);
        const frames = splitter.push(stored);
        splitter.finish();
        return Buffer.concat(frames.map((frame) => decompressFrameSync(frame)));
      }
      case 'none':
        return stored;
    }
  } catch (error) {
    throw asDecodeError(error, `as ${compression}`);
  }
}
