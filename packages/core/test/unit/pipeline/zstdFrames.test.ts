import { describe, expect, it } from 'vitest';
import { ZstdFrameSplitter } from '../../../src/pipeline/zstdFrameSplitter.js';
import { SMALL_FRAME, pieces, readObject, runCli, sampleData, skippableFrame, writeObject } from './pipelineHelpers.js';

function split(stored: Buffer, pieceSize: number): Buffer[] {
  const splitter = new ZstdFrameSplitter(64 * 1024 * 1024);
  const frames = pieces(stored, pieceSize).flatMap((piece) => splitter.push(piece));
  splitter.finish();
  return frames;
}

describe('zstd frame boundaries (decoding frames in parallel)', () => {
  const input = sampleData(5 * SMALL_FRAME + 123, 81);

  it('cuts an object at exactly the frame boundaries the writer recorded, whatever the piece size', async () => {
    const { stored, summary } = await writeObject(input, { compression: 'zstd', frameSize: SMALL_FRAME });
    for (const pieceSize of [1, 3, 4096, stored.length]) {
      const frames = split(stored, pieceSize);
      expect(frames.map((frame) => frame.length)).toEqual(summary.frames.map((frame) => frame.storedLength));
    }
  });

  it('decodes frames written by the zstd CLI, with and without a recorded content size, and an empty frame', async () => {
    const sized = runCli('zstd', ['-q', '-c', '--content-size'], input.subarray(0, 100_000)).stdout;
    // From a pipe the CLI does not know the size, so the frame header omits it.
    const unsized = runCli('sh', ['-c', 'cat | zstd -q -c --no-content-size'], input.subarray(100_000)).stdout;
    const empty = runCli('zstd', ['-q', '-c'], Buffer.alloc(0)).stdout;
    const { raw, error } = await readObject(Buffer.concat([sized, empty, unsized]), { compression: 'zstd' }, 777);
    expect(error).toBeUndefined();
    expect(raw.equals(input)).toBe(true);
  });

  it('skips skippable frames between data frames', async () => {
    const { stored, summary } = await writeObject(input, { compression: 'zstd', frameSize: SMALL_FRAME });
    const cut = summary.frames[2]!.storedOffset;
    const withSkippable = Buffer.concat([stored.subarray(0, cut), skippableFrame(Buffer.from('not data'), 0x184d2a5e), stored.subarray(cut)]);
    const { raw, error } = await readObject(withSkippable, { compression: 'zstd' }, 5);
    expect(error).toBeUndefined();
    expect(raw.equals(input)).toBe(true);
  });

  it('refuses bytes that are not a zstd frame after a valid one, naming the offset', async () => {
    const { stored } = await writeObject(input, { compression: 'zstd', frameSize: SMALL_FRAME });
    const { error } = await readObject(Buffer.concat([stored, Buffer.from('trailing garbage')]), { compression: 'zstd', parallel: true });
    expect(error).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining(`offset ${stored.length}`) });
  });

  it('refuses a block of the reserved type and a frame cut short', async () => {
    const { stored } = await writeObject(input.subarray(0, 1000), { compression: 'zstd' });
    const headerBytes = 4 + 1 + 2; // magic, descriptor, 2-byte content size (single segment)
    const reserved = Buffer.from(stored);
    reserved[headerBytes] = (reserved[headerBytes] as number) | 0b110;
    expect((await readObject(reserved, { compression: 'zstd', parallel: true })).error).toMatchObject({ code: 'DATA_CORRUPT' });
    const cut = await readObject(stored.subarray(0, stored.length - 3), { compression: 'zstd', parallel: true });
    expect(cut.error).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('truncated') });
    expect(cut.raw.length).toBe(0);
  });
});
