import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { TarWalker } from '../../../src/tar/tarWalker.js';

const work = mkdtempSync(join(tmpdir(), 'tarhash-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('TarWalker file body hooks', () => {
  const files = { 'base/1/1259': 'x'.repeat(70_001), 'global/pg_control': 'c'.repeat(8192), empty: '', [`deep/${'d'.repeat(120)}/f`]: 'long name body' };
  const dir = mkdtempSync(join(work, 'src-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const tar = execFileSync('tar', ['-c', '-f', '-', '-C', dir, '.']);

  it.each([1, 511, 512, 4096, 1 << 20])('hands every file body, without padding, to onFileData in chunks of %i bytes', async (chunkSize) => {
    const hashes = new Map<string, { size: number; sha256: string }>();
    let current = createHash('sha256');
    const walker = new TarWalker({
      onFileData: (_entry, bytes) => current.update(bytes),
      onFileEnd: (entry) => {
        hashes.set(entry.path, { size: entry.size, sha256: current.digest('hex') });
        current = createHash('sha256');
      },
    });
    const chunks = [];
    for (let offset = 0; offset < tar.length; offset += chunkSize) chunks.push(tar.subarray(offset, offset + chunkSize));
    await pipeline(Readable.from(chunks), walker, new Writable({ write: (_c, _e, cb) => cb() }));
    expect(Object.fromEntries(hashes)).toEqual(Object.fromEntries(Object.entries(files).map(([path, content]) => [path, { size: content.length, sha256: sha(content) }])));
  });
});
