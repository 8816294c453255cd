import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FileDigester } from '../../../src/verify/fileDigester.js';
import { sampleData } from '../pipeline/pipelineHelpers.js';

const RING = 8 * 1024 * 1024;

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('file digester (per-file SHA-256 on a worker, bytes through a shared ring)', () => {
  it('digests files of every size in order: empty, tiny, larger than the ring, and pieces that wrap around it', async () => {
    // Sizes chosen so that pieces straddle the end of the ring and one file is 3 rings long.
    const files = [0, 1, RING - 1, 3 * RING + 5, 7, RING / 2 + 3, 0, 65_536].map((size, index) => sampleData(size, index + 11));
    const digester = new FileDigester();
    for (const file of files) {
      // Fed in uneven pieces, as the tar walker hands out file bodies.
      for (let at = 0; at < file.length; ) {
        const piece = file.subarray(at, at + 1_000_003);
        digester.update(piece);
        at += piece.length;
      }
      digester.endFile();
    }
    expect(await digester.finish()).toEqual(files.map(sha256));
  });

  it('is not fooled by a reused input buffer: bytes are copied when handed over', async () => {
    const digester = new FileDigester();
    const scratch = Buffer.from('first file body');
    digester.update(scratch);
    scratch.fill(0x41);
    digester.endFile();
    expect(await digester.finish()).toEqual([sha256(Buffer.from('first file body'))]);
  });

  it('can be closed half-way without finishing', async () => {
    const digester = new FileDigester();
    digester.update(sampleData(RING * 2, 5));
    await expect(digester.close()).resolves.toBeTypeOf('number');
  });
});
