import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach } from 'vitest';

/** Helpers of the extraction tests: temporary trees, and what a tree holds, to compare with tar's. */

const work: string[] = [];
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'llm-analytics-extract-'));
  work.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of work.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Every entry under `root`: type, permission bits, size, link target, file mtime and content digest. */
export function describeTree(root: string): string[] {
  const rows: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      const rel = relative(root, path);
      if (stat.isSymbolicLink()) rows.push(`${rel} link -> ${readlinkSync(path)}`);
      else if (stat.isDirectory()) {
        rows.push(`${rel} dir ${(stat.mode & 0o7777).toString(8)} ${Math.floor(stat.mtimeMs / 1000)}`);
        walk(path);
      } else rows.push(`${rel} file ${(stat.mode & 0o7777).toString(8)} ${stat.size} ${Math.floor(stat.mtimeMs / 1000)} nlink=${stat.nlink} ${readFileSync(path).subarray(0, 64).toString('hex')}`);
    }
  };
  walk(root);
  return rows;
}

/** A small data directory with what pg_basebackup archives hold, and the odd cases tar handles. */
export function sourceTree({ hardLink = true } = {}): string {
  const src = tempDir();
  mkdirSync(join(src, 'base/1'), { recursive: true });
  writeFileSync(join(src, 'base/1/1259'), Buffer.alloc(3 * 8192 + 17, 7));
  writeFileSync(join(src, 'PG_VERSION'), '15\n');
  writeFileSync(join(src, 'empty'), '');
  const longName = `${'d'.repeat(60)}/${'f'.repeat(120)}`; // over tar's 100-byte name field
  mkdirSync(join(src, 'd'.repeat(60)));
  writeFileSync(join(src, longName), 'long name body');
  chmodSync(join(src, 'PG_VERSION'), 0o640);
  chmodSync(join(src, 'empty'), 0o4755); // setuid: tar as a normal user drops it, so do we
  symlinkSync('base/1', join(src, 'pg_link'));
  if (hardLink) linkSync(join(src, 'PG_VERSION'), join(src, 'PG_VERSION.hard'));
  utimesSync(join(src, 'base/1/1259'), 1_700_000_000, 1_700_000_000);
  chmodSync(join(src, 'base'), 0o750);
  return src;
}

export function* chunks(bytes: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** Every regular file under `root` with the SHA-256 of its whole content. */
export function fileDigests(root: string): Record<string, string> {
  const digests: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile()) digests[relative(root, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(root);
  return digests;
}

/** The tar file extracted by GNU tar as a normal user runs it: files keep no owner, modes get the umask. */
export function extractedByTar(tarFile: string): string {
  const byTar = tempDir();
  execFileSync('tar', ['-x', '--no-same-owner', '--no-same-permissions', '-f', tarFile, '-C', byTar]);
  return byTar;
}
