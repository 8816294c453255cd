import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { BackupError } from '../../../src/errors.js';
import { createFrameReader, type FrameReaderOptions } from '../../../src/pipeline/index.js';
import { COMPRESSIONS, PASSPHRASE, SMALL_FRAME, pieces, readObject, sampleData, writeObject } from './pipelineHelpers.js';

/**
 * The frame reader handing raw bytes to a function that is done with them when it returns
 * (restore's and verify's tar walker), instead of pushing them downstream: on the worker pool the
 * bytes are then a view into the worker's memory, valid only during the call.
 */
async function consumeAll(stored: Buffer, options: FrameReaderOptions, consume?: (raw: Buffer) => void): Promise<{ raw: Buffer; calls: number; pushed: number }> {
  const copies: Buffer[] = [];
  let calls = 0;
  let pushed = 0;
  const reader = createFrameReader({
    ...options,
    consumeRaw: (raw) => {
      calls += 1;
      copies.push(Buffer.from(raw)); // copied: the bytes are only valid during the call
      consume?.(raw);
    },
  });
  reader.on('data', (chunk: Buffer) => (pushed += chunk.length));
  // No sink after the reader: its readable side ends by itself.
  await pipeline(Readable.from(pieces(stored, 10_007)), reader);
  return { raw: Buffer.concat(copies), calls, pushed };
}

describe('frame reader handing raw bytes to a consumer (consumeRaw)', () => {
  for (const compression of COMPRESSIONS) {
    for (const encrypted of [false, true]) {
      it(`${compression}${encrypted ? ' + encryption' : ''}: the consumer gets every raw byte in order, nothing is pushed, inline and on workers`, async () => {
        const raw = sampleData(5 * SMALL_FRAME + 123, 11);
        const passphrase = encrypted ? PASSPHRASE : undefined;
        const { stored } = await writeObject(raw, { compression, passphrase, frameSize: SMALL_FRAME });
        for (const parallel of [false, true]) {
          const result = await consumeAll(stored, { compression, passphrase, parallel });
          expect(result.raw.equals(raw)).toBe(true);
          expect(result.pushed).toBe(0);
          if (compression !== 'none') expect(result.calls).toBeGreaterThan(1);
        }
      });
    }
  }

  it('fails with what the consumer threw, stops calling it, and leaves the worker pool usable', async () => {
    const raw = sampleData(8 * SMALL_FRAME, 12);
    for (const compression of ['zstd', 'gzip'] as const) {
      const { stored } = await writeObject(raw, { compression, frameSize: SMALL_FRAME });
      let callsAfterFailure = 0;
      let failed = false;
      const outcome = consumeAll(stored, { compression, parallel: true }, () => {
        if (failed) callsAfterFailure += 1;
        failed = true;
        throw new BackupError('DATA_CORRUPT', 'the consumer refused this piece');
      });
      await expect(outcome).rejects.toMatchObject({ code: 'DATA_CORRUPT', message: 'the consumer refused this piece' });
      expect(callsAfterFailure).toBe(0);
    }
    // Every worker slot held for the consumer was handed back: a whole read still goes through.
    const { stored } = await writeObject(raw, { compression: 'zstd', frameSize: SMALL_FRAME });
    expect((await readObject(stored, { compression: 'zstd', parallel: true })).raw.equals(raw)).toBe(true);
  });

  it('still checks the stored SHA-256 at the end', async () => {
    const raw = sampleData(3 * SMALL_FRAME, 13);
    const { stored } = await writeObject(raw, { compression: 'zstd', frameSize: SMALL_FRAME });
    await expect(consumeAll(stored, { compression: 'zstd', parallel: true, expectedSha256: '0'.repeat(64) })).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
  });
});
