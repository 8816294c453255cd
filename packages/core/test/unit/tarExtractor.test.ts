import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createTarExtractor } from '../../src/host/tarExtractor.js';
import { TarWalker } from '../../src/tar/tarWalker.js';
import { sharedFrame } from './pipeline/pipelineHelpers.js';
import { chunks, describeTree, extractedByTar, fileDigests, sourceTree, tempDir } from './treeHelpers.js';

async function extractWithWalker(tarFile: string, target: string): Promise<void> {
  const extractor = createTarExtractor(target);
  const walker = new TarWalker(extractor.callbacks);
  try {
    await pipeline(Readable.from(chunks(readFileSync(tarFile), 777)), walker, new Writable({ write: (_c, _e, callback) => callback() }));
    await extractor.finish();
  } finally {
    await extractor.close();
  }
}

describe('tar extractor (a local restore writes the files itself)', () => {
  for (const format of ['gnu', 'pax', 'ustar'] as const) {
    it(`leaves the same tree as tar -x for a ${format} archive: contents, modes (setuid dropped), links, file times`, async () => {
      const src = sourceTree();
      const tarFile = join(tempDir(), 'a.tar');
      // ustar cannot hold the long name: leave that file out of the ustar archive.
      const members = format === 'ustar' ? ['base', 'PG_VERSION', 'empty', 'pg_link', 'PG_VERSION.hard'] : ['.'];
      execFileSync('tar', ['-c', `--format=${format}`, '-f', tarFile, '-C', src, ...members]);
      const byTar = extractedByTar(tarFile);
      const ours = tempDir();
      await extractWithWalker(tarFile, ours);
      expect(describeTree(ours)).toEqual(describeTree(byTar));
      expect(describeTree(ours).some((row) => row.startsWith('empty file 755 '))).toBe(true);
    });
  }

  it('replaces a symlink already at a file path instead of writing through it', async () => {
    const src = tempDir();
    writeFileSync(join(src, 'postgresql.conf'), 'from the backup\n');
    const tarFile = join(tempDir(), 'a.tar');
    execFileSync('tar', ['-c', '-f', tarFile, '-C', src, 'postgresql.conf']);
    const target = tempDir();
    const outside = join(tempDir(), 'outside.conf');
    writeFileSync(outside, 'must stay\n');
    symlinkSync(outside, join(target, 'postgresql.conf'));
    await extractWithWalker(tarFile, target);
    expect(readFileSync(outside, 'utf8')).toBe('must stay\n');
    expect(lstatSync(join(target, 'postgresql.conf')).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(target, 'postgresql.conf'), 'utf8')).toBe('from the backup\n');
  });

  it.skipIf(process.getuid?.() !== 0)('as root for another account, gives every entry to that account (as tar run by it would)', async () => {
    const src = sourceTree();
    const tarFile = join(tempDir(), 'a.tar');
    execFileSync('tar', ['-c', '-f', tarFile, '-C', src, '.']);
    const target = tempDir();
    const extractor = createTarExtractor(target, { uid: 65534, gid: 65534 });
    await pipeline(Readable.from([readFileSync(tarFile)]), new TarWalker(extractor.callbacks), new Writable({ write: (_c, _e, callback) => callback() }));
    await extractor.finish();
    await extractor.close();
    const owners = new Set(execFileSync('find', [target, '-mindepth', '1', '-printf', '%U:%G\\n']).toString().trim().split('\n'));
    expect([...owners]).toEqual(['65534:65534']);
  });

  it('names the file it could not write and closes it', async () => {
    const src = tempDir();
    mkdirSync(join(src, 'sub'));
    writeFileSync(join(src, 'sub/file'), 'x');
    const tarFile = join(tempDir(), 'a.tar');
    execFileSync('tar', ['-c', '-f', tarFile, '-C', src, 'sub/file']);
    const target = tempDir();
    writeFileSync(join(target, 'sub'), 'a file where the archive needs a directory');
    await expect(extractWithWalker(tarFile, target)).rejects.toMatchObject({ code: 'HOST_COMMAND_FAILED', message: expect.stringContaining(join(target, 'sub/file')) });
  });
});

/** The tar cut into decoded frames in shared memory, as codec workers leave them. */
function sharedFrames(tar: Buffer, size: number) {
  return [...chunks(tar, size)].map((content) => sharedFrame(content));
}

/** Walks `frames` as a restore does: each frame offered to be kept while the walker goes through it. */
async function extractFrames(frames: ReturnType<typeof sharedFrames>, target: string): Promise<void> {
  const extractor = createTarExtractor(target);
  const walker = new TarWalker(extractor.callbacks);
  try {
    for (const { frame, keep } of frames) {
      extractor.beginFrame(frame.bytes, keep);
      try {
        walker.walk(frame.bytes);
      } finally {
        extractor.endFrame();
      }
    }
    walker.endOfInput();
    await extractor.finish();
  } finally {
    await extractor.close();
  }
}

describe('tar extractor: writer threads fed from the decoders\' memory', () => {
  it('writes kept frames where they lie, over several writers, and hands each back only once written', async () => {
    const src = sourceTree();
    // Files of uneven sizes, so that frames hold several files and files span several frames.
    for (let index = 0; index < 12; index++) writeFileSync(join(src, 'base/1', `${16_384 + index}`), randomBytes(37_000 * (index + 1)));
    const tarFile = join(tempDir(), 'a.tar');
    execFileSync('tar', ['-c', '-f', tarFile, '-C', src, '.']);
    const frames = sharedFrames(readFileSync(tarFile), 100_000);
    const ours = tempDir();
    await extractFrames(frames, ours);
    const byTar = extractedByTar(tarFile);
    expect(fileDigests(ours)).toEqual(fileDigests(byTar));
    expect(describeTree(ours)).toEqual(describeTree(byTar));
    // Every frame that held file bytes was kept, and handed back exactly once.
    expect(frames.filter(({ frame }) => frame.keeps > 0).length).toBeGreaterThan(frames.length / 2);
    for (const { frame } of frames) expect(frame.releases).toBe(frame.keeps);
  });

  it('copies bytes that cannot be kept, larger than a writer\'s ring, and is not fooled by a reused buffer', async () => {
    const src = tempDir();
    writeFileSync(join(src, 'big'), randomBytes(20 * 1024 * 1024 + 123));
    writeFileSync(join(src, 'small'), 'small body');
    const tarFile = join(tempDir(), 'a.tar');
    execFileSync('tar', ['-c', '-f', tarFile, '-C', src, 'big', 'small']);
    const ours = tempDir();
    const extractor = createTarExtractor(ours);
    const walker = new TarWalker(extractor.callbacks);
    const scratch = Buffer.alloc(65_536);
    for (const piece of chunks(readFileSync(tarFile), scratch.length)) {
      piece.copy(scratch);
      walker.walk(scratch.subarray(0, piece.length));
      scratch.fill(0x55); // reused for the next piece, as a decoder's output buffer may be
    }
    walker.endOfInput();
    await extractor.finish();
    await extractor.close();
    expect(fileDigests(ours)).toEqual(fileDigests(src));
  });

  it('a member met twice ends as the later one (same writer, archive order), as with tar', async () => {
    const src = tempDir();
    writeFileSync(join(src, 'twice'), randomBytes(6 * 1024 * 1024));
    const tarFile = join(tempDir(), 'a.tar');
    execFileSync('tar', ['-c', '-f', tarFile, '-C', src, 'twice']);
    writeFileSync(join(src, 'twice'), 'the later member\n');
    execFileSync('tar', ['-r', '-f', tarFile, '-C', src, 'twice']);
    const ours = tempDir();
    await extractFrames(sharedFrames(readFileSync(tarFile), 1024 * 1024), ours);
    expect(readFileSync(join(ours, 'twice'), 'utf8')).toBe('the later member\n');
  });

  it('a writer\'s failure stops the walk with the path it could not write, and hands back every kept frame', async () => {
    const src = tempDir();
    for (const name of ['a', 'b', 'c', 'd']) writeFileSync(join(src, name), randomBytes(300_000));
    const tarFile = join(tempDir(), 'a.tar');
    execFileSync('tar', ['-c', '-f', tarFile, '-C', src, 'a', 'b', 'c', 'd']);
    const target = tempDir();
    mkdirSync(join(target, 'b')); // a directory where the archive has a file: EISDIR
    const frames = sharedFrames(readFileSync(tarFile), 50_000);
    await expect(extractFrames(frames, target)).rejects.toMatchObject({ code: 'HOST_COMMAND_FAILED', message: expect.stringContaining(join(target, 'b')) });
    for (const { frame } of frames) expect(frame.releases).toBe(frame.keeps);
  });
});

