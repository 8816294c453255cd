import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { createFrameExtractor, prestartFrameExtractor } from '../../src/host/frameExtractor.js';
import { createFrameReader } from '../../src/pipeline/index.js';
import { TarWalker, type TarPosition } from '../../src/tar/tarWalker.js';
import type { FrameIndexEntry } from '../../src/types/metadata.js';
import { PASSPHRASE, pieces, writeObject } from './pipeline/pipelineHelpers.js';
import { describeTree, extractedByTar, fileDigests, sourceTree, tempDir } from './treeHelpers.js';

const FRAME = 16 * 1024;

/** A source tree as a tar file: files of uneven sizes, so frames hold several and files span several. */
function tarOfTree(): { src: string; tarFile: string } {
  const src = sourceTree({ hardLink: false });
  for (let index = 0; index < 10; index++) writeFileSync(join(src, 'base/1', `${16_384 + index}`), randomBytes(5_000 * index + 3));
  mkdirSync(join(src, 'global'));
  writeFileSync(join(src, 'global/pg_control'), randomBytes(8192));
  utimesSync(join(src, 'global'), 1_600_000_000, 1_600_000_000);
  const tarFile = join(tempDir(), 'a.tar');
  // gnu: a long name's 'L' header is 1.5 KiB at most; the files are large enough that no frame starts in one.
  execFileSync('tar', ['-c', '--format=gnu', '-f', tarFile, '-C', src, '.']);
  return { src, tarFile };
}

/** Stores the tar as a backup does: zstd frames, with where each frame starts in the tar. */
async function storeLikeBackup(tar: Buffer, passphrase?: string): Promise<{ stored: Buffer; frames: FrameIndexEntry[] }> {
  const walker = new TarWalker({ positionsEvery: FRAME });
  const { stored, summary } = await writeObject(tar, { compression: 'zstd', frameSize: FRAME, passphrase, inspectRaw: walker });
  const positions = walker.framePositions() as TarPosition[];
  expect(positions).toHaveLength(summary.frames.length);
  return { stored, frames: summary.frames.map((frame, index) => ({ ...frame, tar: positions[index] })) };
}

/** Restores the stored object into `target` as a local restore does with an indexed backup. */
async function extractStored(stored: Buffer, frames: FrameIndexEntry[], target: string, passphrase?: string) {
  const progress: number[] = [];
  const extractor = createFrameExtractor(target, {
    starts: frames.map((frame) => frame.tar as TarPosition),
    rawLengths: frames.map((frame) => frame.rawLength),
    onProgress: (bytes) => progress.push(bytes),
  });
  const reader = createFrameReader({ compression: 'zstd', passphrase, takeFrame: (frame, index) => extractor.extract(frame, index) });
  try {
    await pipeline(Readable.from(pieces(stored, 9_999)), reader);
    return { ...(await extractor.finish()), progress };
  } finally {
    await extractor.close();
  }
}

describe('frame extractor (a local restore of an indexed backup: frames in parallel, decoded and written in pieces)', () => {
  for (const passphrase of [undefined, PASSPHRASE]) {
    it(`leaves the same tree as tar -x: contents, modes, links, file and directory times${passphrase ? ' (encrypted)' : ''}`, async () => {
      const { tarFile } = tarOfTree();
      const tar = readFileSync(tarFile);
      const { stored, frames } = await storeLikeBackup(tar, passphrase);
      expect(frames.length).toBeGreaterThan(10);
      expect(frames.filter((frame) => frame.tar?.at === 'body').length).toBeGreaterThan(3);
      const ours = tempDir();
      const result = await extractStored(stored, frames, ours, passphrase);
      const byTar = extractedByTar(tarFile);
      expect(fileDigests(ours)).toEqual(fileDigests(byTar));
      expect(describeTree(ours)).toEqual(describeTree(byTar));
      expect(result.rawBytes).toBe(tar.length);
      expect(result.entries).toBe(countEntries(tar));
      expect(result.progress.at(-1)).toBe(tar.length);
    });
  }

  it('refuses an index whose frames do not join up (a start moved by one block): DATA_CORRUPT, not a wrong file', async () => {
    const { stored, frames } = await storeLikeBackup(readFileSync(tarOfTree().tarFile));
    const index = frames.findIndex((frame) => frame.tar?.at === 'body' && frame.tar.offset >= 512);
    const moved = frames.map((frame, at) => (at === index && frame.tar?.at === 'body' ? { ...frame, tar: { ...frame.tar, offset: frame.tar.offset - 512 } } : frame));
    await expect(extractStored(stored, moved, tempDir())).rejects.toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringMatching(/Frame \d+ of the backup ends at another place/) });
  });

  it('refuses an object with more frames than its index, and a flipped byte (zstd checksum)', async () => {
    const { stored, frames } = await storeLikeBackup(readFileSync(tarOfTree().tarFile));
    await expect(extractStored(stored, frames.slice(0, -1), tempDir())).rejects.toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('more frames than its index') });
    const frame = frames[3] as FrameIndexEntry;
    const flipped = Buffer.from(stored);
    const at = frame.storedOffset + Math.floor(frame.storedLength / 2);
    flipped[at] = (flipped[at] as number) ^ 0x01;
    await expect(extractStored(flipped, frames, tempDir())).rejects.toMatchObject({ code: 'DATA_CORRUPT' });
  });

  it('refuses an archive that stops inside a member', async () => {
    const tar = readFileSync(tarOfTree().tarFile);
    // A backup refuses such a tar (its walker's end-of-input check): note the positions by hand.
    const truncated = tar.subarray(0, Math.floor(tar.length / FRAME / 2) * FRAME + 700);
    const walker = new TarWalker({ positionsEvery: FRAME });
    walker.walk(truncated);
    const { stored, summary } = await writeObject(truncated, { compression: 'zstd', frameSize: FRAME });
    const positions = walker.framePositions() as TarPosition[];
    const frames = summary.frames.map((frame, index) => ({ ...frame, tar: positions[index] }));
    expect(positions.at(-1)?.at).toBe('body');
    await expect(extractStored(stored, frames, tempDir())).rejects.toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('ends in the middle of a tar member') });
  });

  it('takes the threads started ahead of it (prestartFrameExtractor), and a second restore starts its own', async () => {
    const { tarFile } = tarOfTree();
    const { stored, frames } = await storeLikeBackup(readFileSync(tarFile));
    prestartFrameExtractor();
    for (const target of [tempDir(), tempDir()]) {
      await extractStored(stored, frames, target);
      expect(fileDigests(target)).toEqual(fileDigests(extractedByTar(tarFile)));
    }
  });

  it('names the path it could not write, and stops', async () => {
    const { stored, frames } = await storeLikeBackup(readFileSync(tarOfTree().tarFile));
    const target = tempDir();
    mkdirSync(join(target, 'PG_VERSION')); // a directory where the archive has a file: EISDIR
    await expect(extractStored(stored, frames, target)).rejects.toMatchObject({ code: 'HOST_COMMAND_FAILED', message: expect.stringContaining(join(target, 'PG_VERSION')) });
  });
});

function countEntries(tar: Buffer): number {
  const walker = new TarWalker();
  walker.walk(tar);
  return walker.entryCount;
}
