import { decompressFrameSync } from 'lz4-napi';
import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../../src/pipeline/index.js';
import { SMALL_FRAME, readObject, sampleData, skippableFrame, writeObject } from './pipelineHelpers.js';

describe('LZ4 frame boundaries', () => {
  const input = sampleData(3 * SMALL_FRAME, 71);

  it('skips skippable frames between data frames', async () => {
    const { stored, summary } = await writeObject(input, { compression: 'lz4', frameSize: SMALL_FRAME });
    const cut = summary.frames[1]!.storedOffset;
    const withSkippable = Buffer.concat([stored.subarray(0, cut), skippableFrame(Buffer.from('not data')), stored.subarray(cut)]);
    const { raw, error } = await readObject(withSkippable, { compression: 'lz4' }, 5);
    expect(error).toBeUndefined();
    expect(raw.equals(input)).toBe(true);
  });

  it('refuses bytes that are not an LZ4 frame after a valid one with DATA_CORRUPT', async () => {
    const { stored } = await writeObject(input, { compression: 'lz4', frameSize: SMALL_FRAME });
    const { error } = await readObject(Buffer.concat([stored, Buffer.from('trailing garbage')]), { compression: 'lz4' });
    expect(error).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining(`offset ${stored.length}`) });
  });

  it('refuses a frame cut short even though lz4-napi alone would decode it', async () => {
    const { stored } = await writeObject(input.subarray(0, 1000), { compression: 'lz4' });
    // Without its end mark and content checksum the frame is incomplete, yet lz4-napi returns data.
    const cut = stored.subarray(0, stored.length - 8);
    expect(decompressFrameSync(cut)).toHaveLength(1000);
    expect(() => decodeFrame('lz4', cut)).toThrow(expect.objectContaining({ code: 'DATA_CORRUPT' }));
  });
});
