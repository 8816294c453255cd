import { chmodSync, chownSync, closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, mkdirSync, openSync, symlinkSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BackupError } from '../errors.js';
import type { TarEntry, TarWalkerOptions } from '../tar/tarWalker.js';

/** Writes the members of a tar stream into a directory, fed by a TarWalker's callbacks. */
export interface TarExtractor {
  readonly callbacks: Required<Pick<TarWalkerOptions, 'onEntry' | 'onFileData' | 'onFileEnd'>>;
  /** After the last member: gives directories their times (creating files inside changed them). */
  finish(): void;
  /** Closes the file being written, if a failure stopped the stream in the middle of one. */
  close(): void;
}

/** Who the extracted files belong to, when this process runs as root for another account. */
export interface FileOwner {
  uid: number;
  gid: number;
}

const OPEN_FOR_WRITE = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

/**
 * `tar -x` done in this process, for a local restore: the raw tar no longer has to be copied
 * through a socket into a tar process (on 2 cores that hand-over, not decoding or writing, was
 * what limited a restore). The TarWalker in front has already refused every member that could
 * land outside the directory (absolute paths, `..`, links pointing out, devices); files are
 * opened with O_NOFOLLOW so an existing symlink is replaced, never written through. Like tar
 * run by the account that owns the data: permission bits and file times from the archive, owner
 * `owner` (when root extracts for the postgres account), no setuid/setgid bits.
 */
export function createTarExtractor(targetDir: string, owner?: FileOwner): TarExtractor {
  let open: { fd: number; path: string } | undefined;
  const directoryTimes: { path: string; mtime: number }[] = [];
  const where = (entry: TarEntry) => (entry.path === '' ? targetDir : join(targetDir, entry.path));

  const onEntry = (entry: TarEntry): void => {
    const path = where(entry);
    guarded(path, () => {
      switch (entry.type) {
        case 'directory':
          mkdirSync(path, { recursive: true });
          chmodSync(path, permissions(entry.mode, 0o700));
          if (owner) chownSync(path, owner.uid, owner.gid);
          directoryTimes.push({ path, mtime: entry.mtime });
          return;
        case 'file':
          open = { fd: openReplacing(path), path };
          fchmodSync(open.fd, permissions(entry.mode, 0o600));
          if (owner) fchownSync(open.fd, owner.uid, owner.gid);
          return;
        case 'symlink':
          replacing(path, () => symlinkSync(entry.linkTarget as string, path));
          if (owner) lchownSync(path, owner.uid, owner.gid);
          return;
        case 'hardlink':
          replacing(path, () => linkSync(join(targetDir, entry.linkTarget as string), path));
          return;
        default:
          // The walker refuses every other type before it gets here.
          throw new Error(`unsupported member type ${entry.type}`);
      }
    });
  };

  const onFileData = (_entry: TarEntry, bytes: Buffer): void => {
    const file = open as { fd: number; path: string };
    guarded(file.path, () => {
      for (let at = 0; at < bytes.length; ) at += writeSync(file.fd, bytes, at);
    });
  };

  const onFileEnd = (entry: TarEntry): void => {
    const file = open as { fd: number; path: string };
    open = undefined;
    guarded(file.path, () => {
      try {
        futimesSync(file.fd, entry.mtime, entry.mtime);
      } finally {
        closeSync(file.fd);
      }
    });
  };

  return {
    callbacks: { onEntry, onFileData, onFileEnd },
    finish: () => {
      for (const { path, mtime } of directoryTimes) guarded(path, () => utimesSync(path, mtime, mtime));
    },
    close: () => {
      if (open) closeSync(open.fd);
      open = undefined;
    },
  };

  function guarded(path: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new BackupError('HOST_COMMAND_FAILED', `Could not extract ${path} from the backup: ${reason}.`, 'Check free space and permissions of the target directory.', { cause: error });
    }
  }
}

/** The archive's permission bits without setuid/setgid/sticky (tar's default as a normal user). */
function permissions(mode: number, fallback: number): number {
  return (mode & 0o777) || fallback;
}

/** Opens a file for writing, replacing a symlink or creating missing parent directories. */
function openReplacing(path: string): number {
  try {
    return openSync(path, OPEN_FOR_WRITE, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') unlinkSync(path);
    else if (code === 'ENOENT') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    else throw error;
    return openSync(path, OPEN_FOR_WRITE, 0o600);
  }
}

/** Creates a link where something may already be (tar -x replaces it). */
function replacing(path: string, create: () => void): void {
  try {
    create();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    unlinkSync(path);
    create();
  }
}
