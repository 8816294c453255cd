import { describe, expect, it } from 'vitest';
import { BackupError } from '../../../src/errors.js';
import { readObject, sampleData, writeObject } from './pipelineHelpers.js';

const FRAME = 1024;
const INPUT = sampleData(3 * FRAME + 100, 41);

describe.each(['zstd', 'gzip', 'lz4'] as const)('a damaged unencrypted %s object', (compression) => {
  it('fails with DATA_CORRUPT (not a raw library error) on a flipped byte in the compressed data', async () => {
    const { stored, summary } = await writeObject(INPUT, { compression, frameSize: FRAME });
    const frame = summary.frames[1]!;
    const tampered = Buffer.from(stored);
    tampered[frame.storedOffset + Math.floor(frame.storedLength / 2)]! ^= 0x10;
    const { error } = await readObject(tampered, { compression });
    expect(error).toBeInstanceOf(BackupError);
    expect(error).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('could not be decoded') });
  });

  it('never yields different bytes without an error, whichever bit is flipped', async () => {
    const { stored } = await writeObject(INPUT, { compression, frameSize: FRAME });
    for (let at = 0; at < stored.length; at++) {
      const tampered = Buffer.from(stored);
      tampered[at]! ^= 0x01;
      const { raw, error } = await readObject(tampered, { compression }, 333);
      // Some header bits (a gzip timestamp, a zstd window size) do not change the data.
      if (error === undefined) expect(raw.equals(INPUT), `flip at byte ${at}`).toBe(true);
      else expect(error, `flip at byte ${at}`).toMatchObject({ code: 'DATA_CORRUPT' });
    }
  }, 120_000);

  it('fails with DATA_CORRUPT when cut inside a frame, and reads a clean prefix when cut between frames', async () => {
    const { stored, summary } = await writeObject(INPUT, { compression, frameSize: FRAME });
    const boundaries = new Map(summary.frames.map((f) => [f.storedOffset, f.rawOffset]));
    for (let length = 0; length < stored.length; length++) {
      const { raw, error } = await readObject(stored.subarray(0, length), { compression }, 257);
      if (boundaries.has(length) && length > 0) {
        expect(error, `cut at ${length}`).toBeUndefined();
        expect(raw.equals(INPUT.subarray(0, boundaries.get(length))), `cut at ${length}`).toBe(true);
      } else {
        expect(error, `cut at ${length}`).toMatchObject({ code: 'DATA_CORRUPT' });
      }
    }
  }, 120_000);

  it('detects a cut between frames with CHECKSUM_MISMATCH when the recorded sha256 is given', async () => {
    const { stored, summary } = await writeObject(INPUT, { compression, frameSize: FRAME });
    const cut = summary.frames[2]!.storedOffset;
    const { error } = await readObject(stored.subarray(0, cut), { compression, expectedSha256: summary.sha256 });
    expect(error).toMatchObject({ code: 'CHECKSUM_MISMATCH', message: expect.stringContaining(summary.sha256) });
  });
});

describe('the recorded sha256', () => {
  it('passes when it matches and fails with CHECKSUM_MISMATCH when one stored byte differs (none)', async () => {
    const { stored, summary } = await writeObject(INPUT, { compression: 'none', frameSize: FRAME });
    const ok = await readObject(stored, { compression: 'none', expectedSha256: summary.sha256 });
    expect(ok.error).toBeUndefined();
    const tampered = Buffer.from(stored);
    tampered[100]! ^= 0xff;
    const { error } = await readObject(tampered, { compression: 'none', expectedSha256: summary.sha256 });
    expect(error).toMatchObject({ code: 'CHECKSUM_MISMATCH' });
  });

  it('is reported by the reader summary as the sha256 of the bytes read', async () => {
    const { createFrameReader } = await import('../../../src/pipeline/index.js');
    const { stored, summary } = await writeObject(INPUT, { compression: 'zstd', frameSize: FRAME });
    const reader = createFrameReader({ compression: 'zstd' });
    const { pipeline } = await import('node:stream/promises');
    const { Readable, Writable } = await import('node:stream');
    await pipeline(Readable.from([stored]), reader, new Writable({ write: (_c, _e, cb) => cb() }));
    expect(reader.summary()).toEqual({ storedBytes: stored.length, rawBytes: INPUT.length, sha256: summary.sha256 });
  });
});

it('refuses a zero-byte zstd object with DATA_CORRUPT: the writer always stores a frame', async () => {
  const { error } = await readObject(Buffer.alloc(0), { compression: 'zstd' });
  expect(error).toMatchObject({ code: 'DATA_CORRUPT' });
});

it('refuses data that is not in the expected compression format with DATA_CORRUPT', async () => {
  const { stored } = await writeObject(INPUT, { compression: 'gzip', frameSize: FRAME });
  for (const compression of ['zstd', 'lz4'] as const) {
    const { error } = await readObject(stored, { compression });
    expect(error).toMatchObject({ code: 'DATA_CORRUPT' });
  }
});
