import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createFrameReader, createFrameWriter, type FrameReaderOptions, type FrameWriterOptions, type FrameWriterSummary } from '../../../src/pipeline/index.js';
import type { Compression } from '../../../src/types/metadata.js';

export const COMPRESSIONS: Compression[] = ['zstd', 'gzip', 'lz4', 'none'];
export const PASSPHRASE = 'correct horse battery staple ✓';
export const SMALL_FRAME = 64 * 1024;

/**
 * Deterministic data shaped like a base backup: runs of text-like rows (compressible) mixed with
 * pseudo-random blocks (incompressible, like TOAST-compressed values).
 */
export function sampleData(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  let at = 0;
  while (at < size) {
    const run = Math.min(size - at, 4096 + (next() % 16384));
    if (next() % 3 === 0) {
      for (let i = 0; i < run; i++) out[at + i] = next() & 0xff;
    } else {
      out.write(`row ${next() % 1000}|device-${next() % 50}|2024-01-0${next() % 9} 12:00:00|ok\n`.repeat(Math.ceil(run / 40)).slice(0, run), at, 'latin1');
    }
    at += run;
  }
  return out;
}

/** Splits a buffer into uneven pieces, as a pipe or a socket would deliver it. */
export function pieces(data: Buffer, size = 10_007): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
}

class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk);
    callback();
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export async function writeObject(raw: Buffer, options: FrameWriterOptions, pieceSize?: number): Promise<{ stored: Buffer; summary: FrameWriterSummary }> {
  const writer = createFrameWriter(options);
  const sink = new Collector();
  await pipeline(Readable.from(pieces(raw, pieceSize)), writer, sink);
  return { stored: sink.bytes, summary: writer.summary() };
}

export interface ReadOutcome {
  raw: Buffer;
  error?: unknown;
}

/**
 * Reads a stored object, collecting whatever raw output came before any error. Unless the caller
 * picks a mode, it reads twice, decoding inline and on the worker pool, and fails unless both agree:
 * the same raw bytes, or an error with the same code. So every pipeline test covers both decoders.
 */
export async function readObject(stored: Buffer, options: FrameReaderOptions, pieceSize?: number): Promise<ReadOutcome> {
  if (options.parallel !== undefined) return readOnce(stored, options, pieceSize);
  const inline = await readOnce(stored, { ...options, parallel: false }, pieceSize);
  const parallel = await readOnce(stored, { ...options, parallel: true }, pieceSize);
  const codeOf = (outcome: ReadOutcome): string | undefined => (outcome.error === undefined ? undefined : String((outcome.error as { code?: unknown }).code));
  if (codeOf(inline) !== codeOf(parallel)) {
    throw new Error(`inline and parallel decoding disagree: ${codeOf(inline) ?? 'success'} vs ${codeOf(parallel) ?? 'success'} (${String(parallel.error ?? inline.error)})`);
  }
  if (inline.error === undefined && !inline.raw.equals(parallel.raw)) throw new Error('inline and parallel decoding produced different bytes');
  return inline;
}

async function readOnce(stored: Buffer, options: FrameReaderOptions, pieceSize?: number): Promise<ReadOutcome> {
  const reader = createFrameReader(options);
  const sink = new Collector();
  try {
    await pipeline(Readable.from(pieces(stored, pieceSize)), reader, sink);
    return { raw: sink.bytes };
  } catch (error) {
    return { raw: sink.bytes, error };
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Runs a real CLI (zstd, gzip, lz4) with `input` on stdin and returns its exit status and stdout. */
export function runCli(command: string, args: string[], input: Buffer): { status: number | null; stdout: Buffer; stderr: string } {
  const result = spawnSync(command, args, { input, maxBuffer: 256 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

/** A skippable frame (magic 0x184D2A50..5F): zstd -d and lz4 -d ignore it, and so must we. */
export function skippableFrame(payload: Buffer, magic = 0x184d2a53): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(magic, 0);
  header.writeUInt32LE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/**
 * A decoded frame in shared memory, as a codec worker leaves it, with the KeepFrame offered with it;
 * its release scribbles over it (a codec worker writes its next frame there once it is released).
 */
export function sharedFrame(content: Buffer) {
  const bytes = Buffer.from(new SharedArrayBuffer(content.length + 64), 32, content.length);
  content.copy(bytes);
  const frame = { bytes, keeps: 0, releases: 0 };
  const keep = () => {
    frame.keeps += 1;
    return () => {
      frame.releases += 1;
      bytes.fill(0xee);
    };
  };
  return { frame, keep };
}
