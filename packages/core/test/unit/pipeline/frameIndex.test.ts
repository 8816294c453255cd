import { describe, expect, it } from 'vitest';
import { decodeFrame, headerLength, openFrame, openObjectKey } from '../../../src/pipeline/index.js';
import { COMPRESSIONS, PASSPHRASE, SMALL_FRAME, sampleData, writeObject } from './pipelineHelpers.js';

const INPUT = sampleData(6 * SMALL_FRAME + 777, 11);

describe.each(COMPRESSIONS)('the frame index of a %s object', (compression) => {
  it('tiles the raw stream and the stored object without gaps', async () => {
    const { stored, summary } = await writeObject(INPUT, { compression, frameSize: SMALL_FRAME });
    let raw = 0;
    let at = 0;
    for (const frame of summary.frames) {
      expect(frame.rawOffset).toBe(raw);
      expect(frame.storedOffset).toBe(at);
      raw += frame.rawLength;
      at += frame.storedLength;
    }
    expect(raw).toBe(INPUT.length);
    expect(at).toBe(stored.length);
  });

  it('locates frames that each decode alone to exactly their raw slice', async () => {
    const { stored, summary } = await writeObject(INPUT, { compression, frameSize: SMALL_FRAME });
    expect(summary.frames).toHaveLength(7);
    for (const frame of summary.frames) {
      const slice = stored.subarray(frame.storedOffset, frame.storedOffset + frame.storedLength);
      const raw = decodeFrame(compression, slice);
      expect(raw.equals(INPUT.subarray(frame.rawOffset, frame.rawOffset + frame.rawLength))).toBe(true);
    }
  });

  // Frames above 64 KiB are decrypted in several slices (ChunkOpening.update).
  it.each([SMALL_FRAME, 3 * SMALL_FRAME + 5])('locates sealed chunks of an encrypted object that open and decode alone, in any order (frames of %i bytes)', async (frameSize) => {
    const { stored, summary } = await writeObject(INPUT, { compression, passphrase: PASSPHRASE, frameSize });
    const header = stored.subarray(0, headerLength(stored.subarray(0, 12)));
    expect(summary.frames[0]?.storedOffset).toBe(header.length);
    const key = await openObjectKey(header, PASSPHRASE);
    const order = summary.frames.map((_, index) => index).reverse();
    for (const index of order) {
      const frame = summary.frames[index]!;
      const sealed = stored.subarray(frame.storedOffset, frame.storedOffset + frame.storedLength);
      const raw = decodeFrame(compression, openFrame(key, sealed, index));
      expect(raw.equals(INPUT.subarray(frame.rawOffset, frame.rawOffset + frame.rawLength))).toBe(true);
    }
    // The final chunk (length 0, flag 1) plus its tag is all that follows the last frame.
    const last = summary.frames.at(-1)!;
    expect(stored.length - (last.storedOffset + last.storedLength)).toBe(4 + 16);
  });

  it('refuses a sealed chunk opened at the wrong position with DATA_CORRUPT', async () => {
    const { stored, summary } = await writeObject(INPUT, { compression, passphrase: PASSPHRASE, frameSize: SMALL_FRAME });
    const key = await openObjectKey(stored.subarray(0, summary.frames[0]!.storedOffset), PASSPHRASE);
    const frame = summary.frames[1]!;
    const sealed = stored.subarray(frame.storedOffset, frame.storedOffset + frame.storedLength);
    expect(() => openFrame(key, sealed, 2)).toThrow(expect.objectContaining({ code: 'DATA_CORRUPT', message: expect.stringContaining('chunk 2') }));
  });
});
