import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { BackupError } from '../../../src/errors.js';
import { createFrameWriter } from '../../../src/pipeline/index.js';
import { SMALL_FRAME, pieces, readObject, sampleData } from './pipelineHelpers.js';

/** The frame writer showing every raw chunk to an inspector first (the backup's tar walker). */
describe('frame writer with an inspector of the raw input (inspectRaw)', () => {
  it('shows every chunk in order, then the end, and stores the same bytes', async () => {
    const raw = sampleData(3 * SMALL_FRAME + 77, 5);
    const seen: Buffer[] = [];
    let ended = 0;
    const stored: Buffer[] = [];
    const writer = createFrameWriter({
      compression: 'zstd',
      frameSize: SMALL_FRAME,
      inspectRaw: { walk: (chunk) => void seen.push(Buffer.from(chunk)), endOfInput: () => void (ended += 1) },
    });
    await pipeline(Readable.from(pieces(raw, 10_007)), writer, new Writable({ write: (chunk, _e, callback) => (stored.push(chunk), callback()) }));
    expect(Buffer.concat(seen).equals(raw)).toBe(true);
    expect(ended).toBe(1);
    expect((await readObject(Buffer.concat(stored), { compression: 'zstd' })).raw.equals(raw)).toBe(true);
  });

  for (const when of ['walk', 'endOfInput'] as const) {
    it(`what the inspector throws in ${when} fails the stream with that error`, async () => {
      const damage = new BackupError('DATA_CORRUPT', `the tar is damaged (${when})`);
      const writer = createFrameWriter({
        compression: 'zstd',
        frameSize: SMALL_FRAME,
        inspectRaw: {
          walk: () => {
            if (when === 'walk') throw damage;
          },
          endOfInput: () => {
            if (when === 'endOfInput') throw damage;
          },
        },
      });
      const sink = new Writable({ write: (_chunk, _e, callback) => callback() });
      await expect(pipeline(Readable.from(pieces(sampleData(SMALL_FRAME, 2), 10_007)), writer, sink)).rejects.toBe(damage);
    });
  }
});
