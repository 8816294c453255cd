import { describe, expect, it } from 'vitest';
import { DEFAULT_FRAME_SIZE, isEncrypted } from '../../../src/pipeline/index.js';
import { COMPRESSIONS, PASSPHRASE, SMALL_FRAME, readObject, sampleData, sha256, writeObject } from './pipelineHelpers.js';

const MULTI_FRAME = sampleData(5 * SMALL_FRAME + 12_345, 7);
const EXACT_MULTIPLE = sampleData(4 * SMALL_FRAME, 8);

describe.each(COMPRESSIONS)('%s frames', (compression) => {
  describe.each([
    ['unencrypted', undefined],
    ['encrypted', PASSPHRASE],
  ] as const)('%s', (_label, passphrase) => {
    it('round-trips a multi-frame stream byte for byte, read in small uneven pieces', async () => {
      const { stored, summary } = await writeObject(MULTI_FRAME, { compression, passphrase, frameSize: SMALL_FRAME });
      expect(summary.frames).toHaveLength(6);
      expect(summary.rawBytes).toBe(MULTI_FRAME.length);
      expect(summary.storedBytes).toBe(stored.length);
      expect(summary.sha256).toBe(sha256(stored));
      expect(isEncrypted(stored)).toBe(passphrase !== undefined);

      const { raw, error } = await readObject(stored, { compression, passphrase, expectedSha256: summary.sha256 }, 3_001);
      expect(error).toBeUndefined();
      expect(sha256(raw)).toBe(sha256(MULTI_FRAME));
    });

    it('round-trips an empty stream', async () => {
      const { stored, summary } = await writeObject(Buffer.alloc(0), { compression, passphrase, frameSize: SMALL_FRAME });
      expect(summary.rawBytes).toBe(0);
      expect(summary.frames).toHaveLength(compression === 'none' ? 0 : 1);
      const { raw, error } = await readObject(stored, { compression, passphrase, expectedSha256: summary.sha256 });
      expect(error).toBeUndefined();
      expect(raw.length).toBe(0);
    });

    it('cuts a stream that is an exact multiple of the frame size into full frames only', async () => {
      const { stored, summary } = await writeObject(EXACT_MULTIPLE, { compression, passphrase, frameSize: SMALL_FRAME }, SMALL_FRAME);
      expect(summary.frames.map((frame) => frame.rawLength)).toEqual([SMALL_FRAME, SMALL_FRAME, SMALL_FRAME, SMALL_FRAME]);
      const { raw, error } = await readObject(stored, { compression, passphrase });
      expect(error).toBeUndefined();
      expect(raw.equals(EXACT_MULTIPLE)).toBe(true);
    });

    it('round-trips with the default 8 MiB frames', async () => {
      const input = sampleData(DEFAULT_FRAME_SIZE + 100_000, 9);
      const { stored, summary } = await writeObject(input, { compression, passphrase }, 65_536);
      expect(summary.frames.map((frame) => frame.rawLength)).toEqual([DEFAULT_FRAME_SIZE, 100_000]);
      const { raw, error } = await readObject(stored, { compression, passphrase }, 65_536);
      expect(error).toBeUndefined();
      expect(raw.equals(input)).toBe(true);
    }, 30_000);
  });

  it('stores the same bytes whether frames are compressed on worker threads or inline', async () => {
    const inline = await writeObject(MULTI_FRAME, { compression, frameSize: SMALL_FRAME, workers: 0 });
    const pooled = await writeObject(MULTI_FRAME, { compression, frameSize: SMALL_FRAME, workers: 2 });
    expect(pooled.summary.sha256).toBe(inline.summary.sha256);
    expect(pooled.summary.frames).toEqual(inline.summary.frames);
  });
});

describe('compression', () => {
  it('makes compressible data smaller and leaves none the same size', async () => {
    const text = Buffer.from('2024-01-01 00:00:00|sensor-1|42.0\n'.repeat(20_000));
    const zstd = await writeObject(text, { compression: 'zstd', frameSize: SMALL_FRAME });
    const none = await writeObject(text, { compression: 'none', frameSize: SMALL_FRAME });
    expect(zstd.summary.storedBytes).toBeLessThan(text.length / 10);
    expect(none.stored.equals(text)).toBe(true);
  });

  it('honours the compression level (zstd 19 is smaller than zstd 1 on text)', async () => {
    const text = sampleData(4 * SMALL_FRAME, 3);
    const fast = await writeObject(text, { compression: 'zstd', level: 1, frameSize: SMALL_FRAME });
    const small = await writeObject(text, { compression: 'zstd', level: 19, frameSize: SMALL_FRAME });
    expect(small.summary.storedBytes).toBeLessThan(fast.summary.storedBytes);
  });

  it('refuses an invalid level or frame size with INVALID_ARGUMENT', async () => {
    await expect(writeObject(MULTI_FRAME, { compression: 'zstd', level: 40 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(writeObject(MULTI_FRAME, { compression: 'gzip', frameSize: 10 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('several objects at once', () => {
  it('share the compression workers without mixing up frames', async () => {
    const inputs = [1, 2, 3, 4].map((seed) => sampleData(3 * SMALL_FRAME + seed * 1000, 100 + seed));
    const written = await Promise.all(inputs.map((input) => writeObject(input, { compression: 'zstd', frameSize: SMALL_FRAME }, 7_000)));
    for (const [index, { stored }] of written.entries()) {
      const { raw, error } = await readObject(stored, { compression: 'zstd' });
      expect(error).toBeUndefined();
      expect(raw.equals(inputs[index]!)).toBe(true);
    }
  });
});
