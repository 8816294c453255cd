import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { TarWalker, type TarEntry } from '../../../src/tar/tarWalker.js';

const work = mkdtempSync(join(tmpdir(), 'tarwalker-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A tar made by GNU tar from files we lay out, optionally with extra tar flags. */
function makeTar(files: Record<string, string>, extraArgs: string[] = [], members = ['.']): Buffer {
  const dir = mkdtempSync(join(work, 'src-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return execFileSync('tar', ['-c', '-f', '-', '-C', dir, ...extraArgs, ...members], { maxBuffer: 1 << 28 });
}

/** Feeds the tar through a walker in chunks of `chunkSize` bytes; returns output and entries. */
async function walk(tar: Buffer, chunkSize: number, capture: string[] = []) {
  const entries: TarEntry[] = [];
  const walker = new TarWalker({ capture, onEntry: (entry) => entries.push(entry) });
  const out: Buffer[] = [];
  const chunks = [];
  for (let offset = 0; offset < tar.length; offset += chunkSize) chunks.push(tar.subarray(offset, offset + chunkSize));
  await pipeline(Readable.from(chunks), walker, new Writable({ write(chunk, _e, cb) { out.push(chunk); cb(); } }));
  return { walker, entries, output: Buffer.concat(out) };
}

describe('TarWalker', () => {
  const tar = makeTar({ 'backup_label': 'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n', 'base/1/1259': 'x'.repeat(70_000), 'global/pg_control': 'c'.repeat(8192), backup_manifest: '{"a":1}' });

  it.each([1, 7, 512, 513, 4096, 1 << 20])('passes the stream through unchanged and sees every member in chunks of %i bytes', async (chunkSize) => {
    const { output, entries, walker } = await walk(tar, chunkSize, ['backup_label', 'backup_manifest']);
    expect(output.equals(tar)).toBe(true);
    expect(entries.filter((e) => e.type === 'file').map((e) => e.path).sort()).toEqual(['backup_label', 'backup_manifest', 'base/1/1259', 'global/pg_control']);
    expect(walker.captured.get('backup_manifest')?.toString()).toBe('{"a":1}');
    expect(walker.captured.get('backup_label')?.toString()).toMatch(/^START WAL LOCATION: 0\/2000028/);
    expect(entries.find((e) => e.path === 'base/1/1259')?.size).toBe(70_000);
  });

  it('reads long names written as GNU long-name and pax headers', async () => {
    const long = `${'d'.repeat(90)}/${'f'.repeat(120)}`;
    for (const format of ['gnu', 'pax']) {
      const { entries } = await walk(makeTar({ [long]: 'data' }, [`--format=${format}`]), 1000);
      expect(entries.map((e) => e.path)).toContain(long);
    }
  });

  it('refuses a member whose path climbs out of the target directory', async () => {
    const evil = makeTar({ 'a/b': 'x' }, ['--transform=s,^\\./a/b$,../../etc/evil,', '--format=gnu'], ['./a/b']);
    await expect(walk(evil, 4096)).rejects.toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('../../etc/evil') });
  });

  it('refuses a symbolic link that points outside the target directory', async () => {
    const dir = mkdtempSync(join(work, 'link-'));
    symlinkSync('/etc/passwd', join(dir, 'pg_wal'));
    const evil = execFileSync('tar', ['-c', '-f', '-', '-C', dir, 'pg_wal']);
    await expect(walk(evil, 4096)).rejects.toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringContaining('/etc/passwd') });
  });

  it('reports a damaged header and a truncated archive as corrupt data', async () => {
    const damaged = Buffer.from(tar);
    damaged[10] = damaged[10]! ^ 0x01; // a byte of the first member's name: its header checksum no longer matches
    await expect(walk(damaged, 4096)).rejects.toMatchObject({ code: 'DATA_CORRUPT' });
    await expect(walk(tar.subarray(0, 512 + 100), 4096)).rejects.toMatchObject({ code: 'DATA_CORRUPT' });
  });
});
