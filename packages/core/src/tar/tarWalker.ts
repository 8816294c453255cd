import { Transform, type TransformCallback } from 'node:stream';
import { BackupError } from '../errors.js';
import { TarParser, type TarEntry, type TarPosition, type TarProblem } from './tarParser.js';

export type { TarEntry, TarPosition } from './tarParser.js';

/**
 * Watches a tar stream go by without changing it: parses each 512-byte header, skips file bodies
 * by their size, and keeps the bodies of the few small members asked for (pg_basebackup's
 * `backup_manifest` and `backup_label`). It also refuses members that would land outside the
 * target directory when extracted (absolute paths, `..`, links pointing out, device files), so a
 * tampered archive is stopped before `tar -x` sees the entry. The format itself is TarParser's.
 *
 * Only header blocks are inspected, so the cost is a few bytes per file, not per byte.
 */
export interface TarWalkerOptions {
  /** Member paths whose bodies to keep (small files only: capped at `captureLimit`). */
  capture?: readonly string[];
  captureLimit?: number;
  onEntry?: (entry: TarEntry) => void;
  /**
   * Receives every byte of every regular file's body (padding excluded), in order, then one
   * `onFileEnd` per file: for verify, which hashes each file against backup_manifest.
   */
  onFileData?: (entry: TarEntry, bytes: Buffer) => void;
  onFileEnd?: (entry: TarEntry) => void;
  /**
   * Notes where the stream stands at every multiple of this many bytes (a backup's frame size):
   * see framePositions().
   */
  positionsEvery?: number;
}

export class TarWalker extends Transform {
  readonly captured = new Map<string, Buffer>();
  private readonly parser: TarParser;
  private readonly capture: Set<string>;
  private readonly captureLimit: number;
  private bodyCapture?: { path: string; parts: Buffer[] };
  private readonly positionsEvery: number | undefined;
  private readonly positions: TarPosition[] = [];
  private offset = 0;
  /** Paths seen, while positions are noted: a path met twice, or a hard link, rules them out. */
  private readonly paths = new Set<string>();
  private framesIndependent = true;

  constructor(private readonly options: TarWalkerOptions = {}) {
    super();
    this.capture = new Set(options.capture ?? []);
    this.captureLimit = options.captureLimit ?? 64 * 1024 * 1024;
    this.positionsEvery = options.positionsEvery;
    this.parser = new TarParser({
      onEntry: (entry) => this.onEntry(entry),
      onFileData: (entry, bytes) => {
        this.bodyCapture?.parts.push(Buffer.from(bytes));
        options.onFileData?.(entry, bytes);
      },
      onFileEnd: (entry) => {
        if (this.bodyCapture) this.captured.set(this.bodyCapture.path, Buffer.concat(this.bodyCapture.parts));
        this.bodyCapture = undefined;
        options.onFileEnd?.(entry);
      },
    });
  }

  get entryCount(): number {
    return this.parser.entryCount;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.walk(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.endOfInput();
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback();
  }

  /**
   * The next piece of the archive, used without the stream (restore and verify call this from
   * the frame reader, see FrameReaderOptions.consumeRaw). Keeps no reference to `chunk` after it
   * returns: callbacks get views that are only valid during the call, captured bodies are copied.
   * Throws DATA_CORRUPT on a damaged header or an entry that would land outside the target.
   */
  walk(chunk: Buffer): void {
    try {
      const every = this.positionsEvery;
      if (!every) return this.parser.walk(chunk);
      for (let at = 0; at < chunk.length; ) {
        if (this.offset % every === 0) this.positions.push(this.parser.position());
        const part = chunk.subarray(at, at + every - (this.offset % every));
        this.parser.walk(part);
        at += part.length;
        this.offset += part.length;
      }
    } catch (error) {
      throw asTarError(error);
    }
  }

  /** After the last piece: throws DATA_CORRUPT if the archive stopped inside a member. */
  endOfInput(): void {
    try {
      this.parser.endOfInput();
    } catch (error) {
      throw asTarError(error);
    }
  }

  /**
   * Where each `positionsEvery`-byte frame of the stream starts, once it has been walked; undefined
   * when the frames cannot be extracted independently: a frame starts inside an extension header,
   * or a member depends on another (the same path twice: the later wins; a hard link).
   */
  framePositions(): TarPosition[] | undefined {
    if (!this.positionsEvery || !this.framesIndependent || this.positions.some((position) => position.at === 'other')) return undefined;
    return this.positions;
  }

  private onEntry(entry: TarEntry): void {
    if (this.positionsEvery) {
      if (this.paths.has(entry.path) || entry.type === 'hardlink') this.framesIndependent = false;
      this.paths.add(entry.path);
    }
    if (entry.type === 'file' && this.capture.has(entry.path) && entry.size <= this.captureLimit) {
      this.bodyCapture = { path: entry.path, parts: [] };
    }
    this.options.onEntry?.(entry);
  }
}

/** TarParser's problems are DATA_CORRUPT; anything else (a callback's error) passes unchanged. */
export function asTarError(error: unknown): unknown {
  if (!(error as TarProblem | undefined)?.tarProblem) return error;
  const problem = error as TarProblem;
  return new BackupError('DATA_CORRUPT', problem.message, problem.hint);
}
