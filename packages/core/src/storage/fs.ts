import { randomUUID } from 'node:crypto';
import { type FileHandle, link, mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { BackupError } from '../errors.js';
import { FlushBehind } from './flushBehind.js';
import { assertValidKey, assertValidPrefix, cancelledError, compareKeys, throwIfAborted } from './objects.js';
import type { GetOptions, ObjectInfo, PutOptions, Storage } from './storage.js';

const READ_BYTES = 1024 * 1024;

/**
 * Where writes are staged before the rename that publishes them: one directory at the root, so
 * a crash leaves debris in one known place, and never under a key. Keys in it are refused.
 */
const TEMP_DIR = '.tmp';
/**
 * A temp file untouched for this long belongs to a writer that died (a live one writes to it all
 * the time, and fsyncs and renames it within seconds of its last byte): check() removes it.
 */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

/**
 * A repository in a local directory: the embedded default. Keys map to files under the root;
 * every write goes to a temp file that is fsynced and renamed into place (POSIX rename is atomic
 * within a file system), so readers see the old object, the new one, or none, never half of one.
 */
export class FsStorage implements Storage {
  readonly root: string;
  readonly location: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.location = this.root;
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<{ size: number }> {
    const target = this.pathOf(key);
    const what = `Writing ${key} to ${this.root}`;
    throwIfAborted(options.signal, what);
    const temp = await this.writeTemp(body, options.signal, what);
    try {
      throwIfAborted(options.signal, what);
      await this.publish(temp.path, target, (from, to) => rename(from, to));
      return { size: temp.size };
    } catch (error) {
      await rm(temp.path, { force: true });
      throw this.fsError(error, `writing ${key}`, target);
    }
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    const target = this.pathOf(key);
    const temp = await this.writeTemp(body, undefined, `Writing ${key} to ${this.root}`);
    try {
      // link() fails with EEXIST if the name exists: the check and the create are one atomic step.
      await this.publish(temp.path, target, (from, to) => link(from, to));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw this.fsError(error, `writing ${key}`, target);
    } finally {
      await rm(temp.path, { force: true });
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const path = this.pathOf(key);
    throwIfAborted(options.signal, `Reading ${key}`);
    const { handle, size } = await this.openObject(key, path);
    try {
      const { start, end } = byteRange(options.range, size, key);
      // 1 MiB reads: a 64 KiB default means sixteen times the reads, buffers and callbacks for a
      // backup-sized object.
      const stream = handle.createReadStream({ start, end, highWaterMark: READ_BYTES });
      if (options.signal) cancelOnAbort(stream, options.signal, `Reading ${key}`);
      return stream;
    } catch (error) {
      await handle.close();
      throw this.fsError(error, `reading ${key}`, path);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(key);
    try {
      const info = await stat(path);
      return info.isFile() ? { key, size: info.size, lastModified: info.mtime } : undefined;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw this.fsError(error, `reading ${key}`, path);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    // Walk from the deepest directory the prefix names; the rest filters the first level.
    const slash = prefix.lastIndexOf('/');
    const dirKey = prefix.slice(0, slash + 1);
    const namePrefix = prefix.slice(slash + 1);
    if (dirKey.startsWith(`${TEMP_DIR}/`)) return;
    yield* this.walk(dirKey, namePrefix);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) assertValidKey(key);
    const touched = new Set<string>();
    for (const key of keys) {
      const path = this.pathOf(key);
      try {
        await unlink(path);
        touched.add(dirname(path));
      } catch (error) {
        // A missing key, or a name that is a directory (not an object), is already "deleted".
        const code = (error as NodeJS.ErrnoException).code;
        if (isMissing(error) || code === 'EISDIR') continue;
        throw this.fsError(error, `deleting ${key}`, path);
      }
    }
    for (const dir of touched) await this.pruneEmptyDirs(dir);
  }

  /** Checks the root is writable, and sweeps temp files a crashed writer left (see STALE_TEMP_MS). */
  async check(): Promise<void> {
    try {
      await this.writeTemp(Buffer.from('check\n'), undefined, `Checking ${this.root}`).then((temp) => rm(temp.path));
    } catch (error) {
      throw this.fsError(error, 'checking the repository directory', this.root);
    }
    await this.sweepStaleTemps().catch(() => {});
  }

  private async sweepStaleTemps(): Promise<void> {
    const tempDir = join(this.root, TEMP_DIR);
    const cutoff = Date.now() - STALE_TEMP_MS;
    for (const name of await readdir(tempDir)) {
      const path = join(tempDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile() && info.mtimeMs < cutoff) await rm(path, { force: true });
    }
  }

  /** The file of a key; validation guarantees it is inside the root. */
  private pathOf(key: string): string {
    assertValidKey(key);
    if (key === TEMP_DIR || key.startsWith(`${TEMP_DIR}/`)) {
      throw new BackupError('INVALID_ARGUMENT', `Invalid object key "${key}": "${TEMP_DIR}/" is reserved for writes in progress.`, 'This is a bug in the caller.');
    }
    return join(this.root, ...key.split('/'));
  }

  /** Writes the body to a new temp file and fsyncs it, so a rename publishes complete data. */
  private async writeTemp(body: Readable | Buffer, signal: AbortSignal | undefined, what: string): Promise<{ path: string; size: number }> {
    const tempDir = join(this.root, TEMP_DIR);
    await this.makeDirs(tempDir).catch((error: unknown) => {
      throw this.fsError(error, 'creating the repository directory', this.root);
    });
    const path = join(tempDir, randomUUID());
    let handle: FileHandle | undefined;
    let flush: FlushBehind | undefined;
    let bodyError: unknown;
    try {
      handle = await open(path, 'wx', 0o600);
      flush = new FlushBehind(handle);
      let size: number;
      if (Buffer.isBuffer(body)) {
        await handle.writeFile(body);
        size = body.length;
      } else {
        body.once('error', (error) => (bodyError = error));
        // Plain writes on the handle: a FileHandle write stream keeps the handle busy after
        // 'finish', so the fsync below would wait forever. for-await gives backpressure.
        if (signal) addAbortSignal(signal, body);
        size = 0;
        for await (const chunk of body) {
          const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
          await handle.write(bytes);
          size += bytes.length;
          flush.written(size);
        }
      }
      await flush.settle();
      await handle.sync();
      return { path, size };
    } catch (error) {
      await flush?.settle().catch(() => {});
      await handle?.close().catch(() => {});
      handle = undefined;
      await rm(path, { force: true });
      if (!Buffer.isBuffer(body)) body.destroy();
      if (signal?.aborted) throw cancelledError(what);
      if (error === bodyError) throw error; // the caller's stream failed: its error, unchanged
      throw this.fsError(error, 'writing a temporary file', path);
    } finally {
      await handle?.close();
    }
  }

  /** Moves a finished temp file to its key (rename or link), then makes the new name durable. */
  private async publish(temp: string, target: string, place: (from: string, to: string) => Promise<void>): Promise<void> {
    const dir = dirname(target);
    for (let attempt = 1; ; attempt++) {
      await this.makeDirs(dir);
      try {
        await place(temp, target);
        break;
      } catch (error) {
        // A concurrent delete may prune the directory between mkdir and rename: make it again.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 3) throw error;
      }
    }
    await fsyncDir(dir);
  }

  /** mkdir -p, fsyncing the parent of each directory it creates (a new name is an entry in its parent). */
  private async makeDirs(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (first === undefined) return;
    for (let created = dir; ; created = dirname(created)) {
      await fsyncDir(dirname(created));
      if (created === first || dirname(created) === created) break;
    }
  }

  /** Removes directories left empty by a delete, up to (not including) the root. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    let current = dir;
    for (; current.startsWith(this.root + sep); current = dirname(current)) {
      try {
        await rmdir(current);
      } catch {
        break; // not empty (or gone): its ancestors are not empty either
      }
    }
    await fsyncDir(current).catch(() => {});
  }

  private async openObject(key: string, path: string): Promise<{ handle: FileHandle; size: number }> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (isMissing(error)) throw notFound(key, this.root);
      throw this.fsError(error, `reading ${key}`, path);
    }
    const info = await handle.stat();
    // open() succeeds on a directory; only a regular file is an object.
    if (!info.isFile()) {
      await handle.close();
      throw notFound(key, this.root);
    }
    return { handle, size: info.size };
  }

  private async *walk(dirKey: string, namePrefix: string): AsyncGenerator<ObjectInfo> {
    const dir = join(this.root, ...dirKey.split('/').filter(Boolean));
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw this.fsError(error, `listing ${dirKey || '/'}`, dir);
    }
    // Sorting "name/" for directories makes this depth-first walk yield keys in byte order:
    // "a-b" < "a/x" < "a0", as S3 lists them.
    const named = entries
      .filter((entry) => entry.name.startsWith(namePrefix) && !(dirKey === '' && entry.name === TEMP_DIR))
      .map((entry) => ({ entry, sortName: entry.isDirectory() ? `${entry.name}/` : entry.name }))
      .sort((a, b) => compareKeys(a.sortName, b.sortName));
    for (const { entry } of named) {
      const key = dirKey + entry.name;
      if (entry.isDirectory()) {
        yield* this.walk(`${key}/`, '');
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        const info = await stat(join(dir, entry.name)).catch((error: unknown) => {
          if (isMissing(error)) return undefined; // deleted while we list
          throw this.fsError(error, `listing ${key}`, join(dir, entry.name));
        });
        if (info?.isFile()) yield { key, size: info.size, lastModified: info.mtime };
      }
    }
  }

  private fsError(error: unknown, action: string, path: string): BackupError {
    if (error instanceof BackupError) return error;
    const code = (error as NodeJS.ErrnoException).code;
    switch (code) {
      case 'EACCES':
      case 'EPERM':
      case 'EROFS':
        return new BackupError('STORAGE_ACCESS_DENIED', `Permission denied ${action} in ${this.root} (${code} on ${path}).`, 'Check the owner and permissions of the repository directory, or choose another one with --repo.', { cause: error });
      case 'ENOSPC':
      case 'EDQUOT':
        return new BackupError('STORAGE_ERROR', `No space left ${action} in ${this.root} (${code}).`, 'Free space on that file system (expire old backups) or choose another repository.', { cause: error });
      case 'ENOTDIR':
      case 'EEXIST':
        return new BackupError('STORAGE_ERROR', `Cannot use ${this.root} as a repository: ${path} is not a directory (${action}).`, 'Point --repo at a directory, or remove the file that is in the way.', { cause: error });
      default:
        return new BackupError('STORAGE_ERROR', `Failed ${action} in ${this.root} (${code ?? (error as Error)?.name ?? 'error'}).`, 'Check the file system (dmesg, df) and try again.', { cause: error });
    }
  }
}

/** The inclusive byte range to read, refused when it starts past the end (as S3 answers 416). */
function byteRange(range: GetOptions['range'], size: number, key: string): { start?: number; end?: number } {
  if (!range) return {};
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
    throw new BackupError('INVALID_ARGUMENT', `Invalid byte range ${start}-${end ?? ''} for ${key}.`, 'A range is start..end, inclusive, with 0 <= start <= end.');
  }
  if (start >= size) {
    throw new BackupError('INVALID_ARGUMENT', `The byte range ${start}-${end ?? ''} starts past the end of ${key} (${size} bytes).`, 'Read within the object: this is a bug in the caller.');
  }
  return { start, end: Math.min(end ?? size - 1, size - 1) };
}

function cancelOnAbort(stream: Readable, signal: AbortSignal, what: string): void {
  const abort = (): void => {
    stream.destroy(cancelledError(what));
  };
  if (signal.aborted) return abort();
  signal.addEventListener('abort', abort, { once: true });
  stream.once('close', () => signal.removeEventListener('abort', abort));
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function notFound(key: string, root: string): BackupError {
  return new BackupError('OBJECT_NOT_FOUND', `No object ${key} in ${root}.`, 'Check the backup id or list the repository with `llm-analytics database list-backups`.');
}

/** fsync a directory so the names created or removed in it survive a crash (POSIX). */
async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
