import { afterAll, describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '../../../src/pipeline/codecs.js';
import { CodecPool, frameCapacity } from '../../../src/pipeline/codecPool.js';
import { DEFAULT_FRAME_SIZE } from '../../../src/pipeline/format.js';
import { sampleData } from './pipelineHelpers.js';

/** A frame as the writer hands it over: its own buffer, with room for the compressed form. */
function pooledFrame(raw: Buffer): Buffer {
  const frame = Buffer.allocUnsafeSlow(frameCapacity(raw.length)).subarray(0, raw.length);
  raw.copy(frame);
  return frame;
}

describe('codec pool (frames coded on worker threads through one shared slot per worker)', () => {
  const pool = new CodecPool(2);
  afterAll(() => pool.close());

  it('codes frames of every size at once, growing a slot for a frame larger than the default, byte for byte as inline', async () => {
    // More frames than workers, so some wait in the queue; one is 1.5 x the default frame size.
    const inputs = [1024, DEFAULT_FRAME_SIZE, 0, DEFAULT_FRAME_SIZE + DEFAULT_FRAME_SIZE / 2, 4097].map((size, index) => sampleData(size, index + 7));
    const encoded = await Promise.all(inputs.map((raw) => pool.encode('zstd', 1, pooledFrame(raw))));
    for (const [index, raw] of inputs.entries()) {
      const { stored, memory } = encoded[index]!;
      expect(stored.buffer).toBe(memory);
      expect(stored.equals(encodeFrame('zstd', 1, raw))).toBe(true);
    }
    const decoded = await Promise.all(encoded.map(({ stored }) => pool.decode('zstd', Buffer.from(stored))));
    for (const [index, raw] of inputs.entries()) expect(decoded[index]!.equals(raw)).toBe(true);
  });

  it('returns decoded frames in memory of their own: the next frame through the same slot does not change them', async () => {
    const first = sampleData(300_000, 1);
    const second = sampleData(300_000, 2);
    const one = await pool.decode('zstd', encodeFrame('zstd', 1, first));
    await pool.decode('zstd', encodeFrame('zstd', 1, second));
    await pool.decode('zstd', encodeFrame('zstd', 1, second));
    expect(one.equals(first)).toBe(true);
  });

  it('keeps a frame decoded in place in its worker until released: that worker takes no other frame meanwhile', async () => {
    const single = new CodecPool(1);
    try {
      const first = sampleData(300_000, 5);
      const second = sampleData(300_000, 6);
      const held = await single.decodeInPlace('zstd', encodeFrame('zstd', 1, first));
      expect(held.owned).toBe(false);
      let secondDone = false;
      const next = single.decode('zstd', encodeFrame('zstd', 1, second)).then((bytes) => {
        secondDone = true;
        return bytes;
      });
      // The only worker is held: the second frame waits in the queue, and the first stays intact.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(secondDone).toBe(false);
      expect(held.bytes.equals(first)).toBe(true);
      held.release();
      held.release(); // a second release changes nothing
      expect((await next).equals(second)).toBe(true);
      expect((await single.decode('zstd', encodeFrame('zstd', 1, first))).equals(first)).toBe(true);
    } finally {
      await single.close();
    }
  });

  it('prestarts its workers idle (once, however often asked), and frames then decode on them', async () => {
    const prestarted = new CodecPool(2);
    try {
      prestarted.prestart();
      prestarted.prestart();
      expect((prestarted as unknown as { workers: unknown[] }).workers).toHaveLength(2);
      const raw = sampleData(100_000, 8);
      expect((await prestarted.decode('zstd', encodeFrame('zstd', 1, raw))).equals(raw)).toBe(true);
      expect((prestarted as unknown as { workers: unknown[] }).workers).toHaveLength(2);
    } finally {
      await prestarted.close();
    }
  });

  it('compresses frames filled in shared frame memory in place, byte for byte as inline, across reuse and after forgetting', async () => {
    const memories = [0, 1, 2].map(() => pool.sharedFrameMemory(frameCapacity(DEFAULT_FRAME_SIZE)));
    const encodeIn = (memory: SharedArrayBuffer, raw: Buffer) => {
      const frame = Buffer.from(memory).subarray(0, raw.length);
      raw.copy(frame);
      return pool.encode('zstd', 1, frame);
    };
    // Each buffer is filled again every round: a worker that was sent it before must read the new bytes.
    for (let round = 0; round < 3; round += 1) {
      const inputs = memories.map((_, index) => sampleData(300_000 + index, round * 3 + index + 20));
      const encoded = await Promise.all(memories.map((memory, index) => encodeIn(memory, inputs[index]!)));
      for (const [index, { stored, memory }] of encoded.entries()) {
        expect(memory).toBe(memories[index]);
        expect(stored.equals(encodeFrame('zstd', 1, inputs[index]!))).toBe(true);
      }
    }
    // Forgotten by the workers, a buffer used again is sent again.
    pool.forgetFrameMemory(memories);
    const raw = sampleData(50_000, 30);
    expect((await encodeIn(memories[0]!, raw)).stored.equals(encodeFrame('zstd', 1, raw))).toBe(true);
  });

  it('rejects a damaged frame as DATA_CORRUPT and keeps working', async () => {
    const raw = sampleData(200_000, 3);
    const damaged = Buffer.from(encodeFrame('zstd', 1, raw));
    damaged[Math.floor(damaged.length / 2)]! ^= 0x10;
    await expect(pool.decode('zstd', damaged)).rejects.toMatchObject({ code: 'DATA_CORRUPT' });
    const again = await pool.decode('zstd', encodeFrame('zstd', 1, raw));
    expect(again.equals(raw)).toBe(true);
  });

  it('encodes gzip and LZ4 frames the inline codecs can read', async () => {
    const raw = sampleData(500_000, 4);
    for (const compression of ['gzip', 'lz4'] as const) {
      const { stored } = await pool.encode(compression, compression === 'gzip' ? 6 : 0, pooledFrame(raw));
      expect(decodeFrame(compression, Buffer.from(stored)).equals(raw)).toBe(true);
    }
  });

  it('refuses a frame without room for its compressed form', async () => {
    await expect(pool.encode('zstd', 1, Buffer.alloc(1000))).rejects.toThrow(/room for expansion/);
  });
});
