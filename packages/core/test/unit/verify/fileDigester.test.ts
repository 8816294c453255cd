import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FileDigester } from '../../../src/verify/fileDigester.js';
import { sampleData, sharedFrame } from '../pipeline/pipelineHelpers.js';

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

describe('file digester: decoded frames hashed where they lie (kept, then handed back)', () => {
  it('hashes kept frames where they lie, and hands each back only after hashing it', async () => {
    const fileA = randomBytes(3 * 1024 * 1024);
    const fileB = randomBytes(5000);
    const first = sharedFrame(fileA.subarray(0, 1_000_000));
    const second = sharedFrame(Buffer.concat([fileA.subarray(1_000_000), fileB]));
    const digester = new FileDigester();

    digester.beginFrame(first.frame.bytes, first.keep);
    digester.update(first.frame.bytes);
    digester.endFrame();
    digester.beginFrame(second.frame.bytes, second.keep);
    digester.update(second.frame.bytes.subarray(0, fileA.length - 1_000_000));
    digester.endFile();
    digester.update(second.frame.bytes.subarray(fileA.length - 1_000_000));
    digester.endFile();
    digester.endFrame();

    expect(await digester.finish()).toEqual([sha256(fileA), sha256(fileB)]);
    expect([first.frame.keeps, first.frame.releases, second.frame.keeps, second.frame.releases]).toEqual([1, 1, 1, 1]);
  });

  it('copies what it cannot keep (no keep offered, or memory of its own), mixed with kept frames', async () => {
    const plain = randomBytes(9 * 1024 * 1024); // more than the copy ring holds
    const keptContent = randomBytes(70_000);
    const kept = sharedFrame(keptContent);
    const unkeepable = Buffer.from(new SharedArrayBuffer(1000)).fill(7);
    const digester = new FileDigester();

    digester.beginFrame(plain);
    digester.update(plain);
    digester.endFrame();
    digester.beginFrame(kept.frame.bytes, kept.keep);
    digester.update(kept.frame.bytes);
    digester.endFrame();
    digester.endFile();
    digester.beginFrame(unkeepable); // shared, but nothing to keep it with: copied
    digester.update(unkeepable);
    digester.endFrame();
    digester.endFile();
    const expected = [createHash('sha256').update(plain).update(keptContent).digest('hex'), sha256(Buffer.alloc(1000, 7))];

    expect(await digester.finish()).toEqual(expected);
    expect(kept.frame.releases).toBe(1);
  });

  it('a frame walked without sending any of its bytes is not kept', async () => {
    const untouched = sharedFrame(randomBytes(100));
    const digester = new FileDigester();
    digester.beginFrame(untouched.frame.bytes, untouched.keep);
    digester.endFrame();
    digester.endFile();
    expect(await digester.finish()).toEqual([sha256(Buffer.alloc(0))]);
    expect(untouched.frame.keeps).toBe(0);
  });

  it('close() hands back every frame still kept', async () => {
    const frames = Array.from({ length: 5 }, () => sharedFrame(randomBytes(2 * 1024 * 1024)));
    const digester = new FileDigester();
    for (const { frame, keep } of frames) {
      digester.beginFrame(frame.bytes, keep);
      digester.update(frame.bytes);
      digester.endFrame();
    }
    await digester.close();
    expect(frames.map(({ frame }) => frame.releases)).toEqual([1, 1, 1, 1, 1]);
  });
});
