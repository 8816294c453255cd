import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createFrameReader, createFrameWriter } from '../../../src/pipeline/index.js';
import { PASSPHRASE, pieces, readObject, sampleData, writeObject } from './pipelineHelpers.js';

const MiB = 1024 * 1024;
const POOL = sampleData(9 * MiB, 51);

/** A producer of `total` bytes in 1 MiB pieces cut from a fixed pool, hashing what it emits. */
function producer(total: number): { stream: Readable; digest: () => string; produced: () => number } {
  const hash = createHash('sha256');
  let produced = 0;
  const stream = new Readable({
    read() {
      if (produced >= total) return void this.push(null);
      const start = (produced * 7) % (POOL.length - MiB);
      const piece = POOL.subarray(start, start + Math.min(MiB, total - produced));
      produced += piece.length;
      hash.update(piece);
      this.push(piece);
    },
  });
  return { stream, digest: () => hash.digest('hex'), produced: () => produced };
}

function hashingSink(): { stream: Writable; digest: () => string } {
  const hash = createHash('sha256');
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback();
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

describe('memory', () => {
  it.each([false, true])('stays flat: 300 MB through encrypting writer → reader (parallel decode: %s) grows RSS by less than 150 MB', async (parallel) => {
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const source = producer(300 * MiB);
    const sink = hashingSink();
    try {
      await pipeline(
        source.stream,
        createFrameWriter({ compression: 'zstd', passphrase: PASSPHRASE }),
        createFrameReader({ compression: 'zstd', passphrase: PASSPHRASE, parallel }),
        sink.stream,
      );
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(sink.digest()).toBe(source.digest());
    expect((peak - before) / MiB).toBeLessThan(150);
  }, 120_000);

  it('stops taking input when nobody reads its output (backpressure), and resumes when read', async () => {
    const frameSize = 64 * 1024;
    const source = producer(64 * MiB);
    const writer = createFrameWriter({ compression: 'zstd', frameSize });
    source.stream.pipe(writer);
    let last = -1;
    while (last !== source.produced()) {
      last = source.produced();
      await sleep(200);
    }
    // ≈ frames compressing (pool + 1) + the one filling + one pushed, plus stream buffers.
    expect(last).toBeGreaterThan(frameSize);
    expect(last).toBeLessThan(40 * frameSize);
    const drained = hashingSink();
    await pipeline(writer, drained.stream);
    expect(source.produced()).toBe(64 * MiB);
    expect(writer.summary().rawBytes).toBe(64 * MiB);
  }, 60_000);
  it('reader decoding on workers stops taking input when nobody reads its output, and resumes when read', async () => {
    const frameSize = 256 * 1024;
    const { stored } = await writeObject(sampleData(48 * MiB, 5), { compression: 'zstd', frameSize }, MiB);
    const reader = createFrameReader({ compression: 'zstd', parallel: true });
    let taken = 0;
    const source = Readable.from(pieces(stored, 64 * 1024)).on('data', (piece: Buffer) => (taken += piece.length));
    source.pipe(reader);
    let last = -1;
    while (last !== taken) {
      last = taken;
      await sleep(200);
    }
    expect(last).toBeGreaterThan(0);
    expect(last).toBeLessThan(stored.length / 2);
    const drained = hashingSink();
    await pipeline(reader, drained.stream);
    expect(taken).toBe(stored.length);
    expect(reader.summary().rawBytes).toBe(48 * MiB);
  });
});

describe('progress', () => {
  it('reports raw bytes at most every 4 MiB, increasing, ending with the total (writer and reader)', async () => {
    const input = sampleData(18 * MiB + 5, 61);
    const written: number[] = [];
    const { stored } = await writeObject(input, { compression: 'lz4', onProgress: (bytes) => written.push(bytes) }, MiB);
    const read: number[] = [];
    await readObject(stored, { compression: 'lz4', parallel: false, onProgress: (bytes) => read.push(bytes) }, MiB);
    const readInParallel: number[] = [];
    await readObject(stored, { compression: 'lz4', parallel: true, onProgress: (bytes) => readInParallel.push(bytes) }, MiB);
    for (const reports of [written, read, readInParallel]) {
      expect(reports.at(-1)).toBe(input.length);
      expect(reports.length).toBeGreaterThanOrEqual(3);
      expect(reports.length).toBeLessThanOrEqual(6);
      for (let i = 1; i < reports.length; i++) expect(reports[i]! - reports[i - 1]!).toBeGreaterThan(0);
    }
  });
});

describe('cancellation', () => {
  it('fails the writer with CANCELLED when the signal aborts mid-stream', async () => {
    const controller = new AbortController();
    const source = producer(1024 * MiB);
    const writer = createFrameWriter({ compression: 'zstd', signal: controller.signal });
    const running = pipeline(source.stream, writer, hashingSink().stream);
    setTimeout(() => controller.abort(), 50);
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(source.produced()).toBeLessThan(1024 * MiB);
  });

  it('fails the reader with CANCELLED when the signal was already aborted', async () => {
    const { stored } = await writeObject(sampleData(100_000), { compression: 'gzip' });
    const { raw, error } = await readObject(stored, { compression: 'gzip', signal: AbortSignal.abort() });
    expect(error).toMatchObject({ code: 'CANCELLED' });
    expect(raw.length).toBe(0);
  });
});
