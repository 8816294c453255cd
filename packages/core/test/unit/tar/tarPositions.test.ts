import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TarParser, type TarPosition } from '../../../src/tar/tarParser.js';
import { TarWalker } from '../../../src/tar/tarWalker.js';
import { chunks, tempDir } from '../treeHelpers.js';

/** A tar of files with uneven sizes: frames hold several members and members span frames. */
function archive(extra: (src: string) => void = () => {}, format = 'gnu'): Buffer {
  const src = tempDir();
  mkdirSync(join(src, 'base/1'), { recursive: true });
  for (let index = 0; index < 9; index++) writeFileSync(join(src, 'base/1', `${16_384 + index}`), randomBytes(3_000 * index * index + 17));
  writeFileSync(join(src, 'PG_VERSION'), '15\n');
  extra(src);
  return execFileSync('tar', ['-c', `--format=${format}`, '-f', '-', '-C', src, '.'], { maxBuffer: 1 << 26 });
}

/** What a parser sees of every file: its bytes by path, however many frames they came in. */
function reader(start?: TarPosition) {
  const files = new Map<string, Buffer[]>();
  const parser = new TarParser({
    onEntry: (entry) => entry.type === 'file' && files.set(entry.path, []),
    onResume: (entry) => files.set(entry.path, files.get(entry.path) ?? []),
    onFileData: (entry, bytes) => files.get(entry.path)?.push(Buffer.from(bytes)),
  }, start);
  return { parser, files };
}

function positionsOf(tar: Buffer, every: number): TarPosition[] | undefined {
  const walker = new TarWalker({ positionsEvery: every });
  for (const piece of chunks(tar, 1000)) walker.walk(piece); // pieces that do not line up with frames
  walker.endOfInput();
  return walker.framePositions();
}

describe('tar positions (a backup notes where each frame starts; a restore starts reading there)', () => {
  it.each([1024, 4096, 10_240])('every frame of %i bytes, read alone from its position, ends where the next starts and gives the same files', (every) => {
    const tar = archive();
    const positions = positionsOf(tar, every) as TarPosition[];
    expect(positions).toHaveLength(Math.ceil(tar.length / every));
    expect(positions.some((position) => position.at === 'body')).toBe(true);

    const whole = reader();
    whole.parser.walk(tar);
    const pieces = new Map<string, Buffer[]>();
    let entries = 0;
    positions.forEach((start, index) => {
      const frame = reader(start);
      frame.parser.walk(tar.subarray(index * every, (index + 1) * every));
      expect(frame.parser.position()).toEqual(positions[index + 1] ?? { at: 'end' });
      entries += frame.parser.entryCount;
      for (const [path, parts] of frame.files) pieces.set(path, [...(pieces.get(path) ?? []), ...parts]);
    });
    expect(entries).toBe(whole.parser.entryCount);
    expect([...pieces.keys()].sort()).toEqual([...whole.files.keys()].sort());
    for (const [path, parts] of whole.files) expect(Buffer.concat(pieces.get(path) ?? []).equals(Buffer.concat(parts))).toBe(true);
  });

  it('notes a long name announced just before a frame boundary, and refuses to start inside an extension header', () => {
    const long = `${'d'.repeat(90)}/${'f'.repeat(150)}`;
    const tar = archive((src) => {
      mkdirSync(join(src, 'd'.repeat(90)));
      writeFileSync(join(src, long), 'long name body');
    }, 'pax');
    // Every 512 bytes: some frame starts right after the pax header, some inside its body.
    const walker = new TarWalker({ positionsEvery: 512 });
    walker.walk(tar);
    expect(walker.framePositions()).toBeUndefined();
    const every = 512;
    const positions: TarPosition[] = [];
    const parser = new TarParser();
    for (let at = 0; at < tar.length; at += every) {
      positions.push(parser.position());
      parser.walk(tar.subarray(at, at + every));
    }
    expect(positions).toContainEqual({ at: 'other' });
    const index = positions.findIndex((position) => position.at === 'header' && position.longName?.endsWith(long));
    expect(index).toBeGreaterThan(0);
    const frame = reader(positions[index]);
    frame.parser.walk(tar.subarray(index * every));
    expect(frame.files.get(long)?.toString()).toBe('long name body');
    expect(() => new TarParser({}, { at: 'other' })).toThrow(/cannot start/);
  });

  it('gives no positions when members depend on each other: a hard link, a path met twice', () => {
    expect(positionsOf(archive(), 4096)).toBeDefined();
    expect(positionsOf(archive((src) => linkSync(join(src, 'PG_VERSION'), join(src, 'hard'))), 4096)).toBeUndefined();
    const src = tempDir();
    const tarFile = join(tempDir(), 'a.tar');
    writeFileSync(join(src, 'twice'), 'first');
    execFileSync('tar', ['-c', '-f', tarFile, '-C', src, 'twice']);
    writeFileSync(join(src, 'twice'), 'second');
    execFileSync('tar', ['-r', '-f', tarFile, '-C', src, 'twice']);
    expect(positionsOf(readFileSync(tarFile), 4096)).toBeUndefined();
  });

  it('refuses a start inside a file body that the file cannot have, or a path that climbs out', () => {
    const body = { at: 'body', path: 'base/1/1259', size: 1000, mode: 0o600, mtime: 1, offset: 0 } as const;
    expect(() => new TarParser({}, body)).not.toThrow();
    expect(() => new TarParser({}, { ...body, offset: 1024 })).toThrow(/impossible place/);
    expect(() => new TarParser({}, { ...body, offset: -1 })).toThrow(/impossible place/);
    expect(() => new TarParser({}, { ...body, path: '../../etc/passwd' })).toThrow(/impossible place/);
  });
});
