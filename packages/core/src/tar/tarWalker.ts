import { Transform, type TransformCallback } from 'node:stream';
import { BackupError } from '../errors.js';

/**
 * Watches a tar stream go by without changing it: parses each 512-byte header, skips file bodies
 * by their size, and keeps the bodies of the few small members asked for (pg_basebackup's
 * `backup_manifest` and `backup_label`). It also refuses members that would land outside the
 * target directory when extracted (absolute paths, `..`, links pointing out, device files), so a
 * tampered archive is stopped before `tar -x` sees the entry.
 *
 * Only header blocks are inspected, so the cost is a few bytes per file, not per byte.
 */
export interface TarEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  size: number;
  linkTarget?: string;
  /** Permission bits from the header (e.g. 0o600), as `tar -x` applies them. */
  mode: number;
  /** Modification time, seconds since the epoch. */
  mtime: number;
}

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
}

const BLOCK = 512;

export class TarWalker extends Transform {
  readonly captured = new Map<string, Buffer>();
  entryCount = 0;
  private readonly capture: Set<string>;
  private readonly captureLimit: number;
  private readonly onEntry?: (entry: TarEntry) => void;
  private readonly onFileData?: (entry: TarEntry, bytes: Buffer) => void;
  private readonly onFileEnd?: (entry: TarEntry) => void;
  /** The regular file whose body is passing, and how many of its (unpadded) bytes remain. */
  private bodyFile?: { entry: TarEntry; remaining: number };
  private header: Buffer = Buffer.alloc(0);
  /** Body bytes (with padding) of the current member still to pass. */
  private bodyRemaining = 0;
  private bodyCapture?: { path: string; parts: Buffer[]; size: number; taken: number };
  /** Name from a GNU long-name ('L') or pax ('x') header, applying to the next member. */
  private pendingLongName?: string;
  private pendingLongLink?: string;
  private pendingMeta?: { kind: 'L' | 'K' | 'x'; parts: Buffer[]; size: number; taken: number };
  private ended = false;

  constructor(options: TarWalkerOptions = {}) {
    super();
    this.capture = new Set(options.capture ?? []);
    this.captureLimit = options.captureLimit ?? 64 * 1024 * 1024;
    this.onEntry = options.onEntry;
    this.onFileData = options.onFileData;
    this.onFileEnd = options.onFileEnd;
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
    let offset = 0;
    while (offset < chunk.length) {
      if (this.bodyRemaining > 0) {
        const take = Math.min(this.bodyRemaining, chunk.length - offset);
        this.keepBody(chunk.subarray(offset, offset + take));
        this.bodyRemaining -= take;
        offset += take;
        if (this.bodyRemaining === 0) this.finishBody();
        continue;
      }
      if (this.ended) return; // zero padding after the end-of-archive marker
      const need = BLOCK - this.header.length;
      const take = Math.min(need, chunk.length - offset);
      this.header = this.header.length === 0 && take === BLOCK
        ? chunk.subarray(offset, offset + BLOCK)
        : Buffer.concat([this.header, chunk.subarray(offset, offset + take)]);
      offset += take;
      if (this.header.length === BLOCK) {
        const header = this.header;
        this.header = Buffer.alloc(0);
        this.readHeader(header);
      }
    }
  }

  /** After the last piece: throws DATA_CORRUPT if the archive stopped inside a member. */
  endOfInput(): void {
    if (this.bodyRemaining > 0 || this.header.length > 0) {
      throw new BackupError('DATA_CORRUPT', 'The backup archive ends in the middle of a tar member.', 'The stored backup is truncated; use another backup.');
    }
  }

  private readHeader(block: Buffer): void {
    if (block.every((byte) => byte === 0)) {
      this.ended = true;
      return;
    }
    verifyHeaderChecksum(block);
    const typeflag = String.fromCharCode(block[156]!);
    const size = parseSize(block.subarray(124, 136));
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'L' || typeflag === 'K' || typeflag === 'x') {
      this.pendingMeta = { kind: typeflag, parts: [], size, taken: 0 };
      this.bodyRemaining = padded;
      if (padded === 0) this.finishBody();
      return;
    }
    if (typeflag === 'g') {
      this.bodyRemaining = padded;
      return;
    }
    const prefix = cString(block.subarray(345, 500));
    const name = this.pendingLongName ?? (prefix ? `${prefix}/${cString(block.subarray(0, 100))}` : cString(block.subarray(0, 100)));
    const linkTarget = this.pendingLongLink ?? cString(block.subarray(157, 257));
    this.pendingLongName = undefined;
    this.pendingLongLink = undefined;
    const entry: TarEntry = {
      path: normalizeMemberPath(name),
      type: entryType(typeflag),
      size,
      mode: parseSize(block.subarray(100, 108)) & 0o7777,
      mtime: parseSize(block.subarray(136, 148)),
    };
    if (entry.type === 'symlink' || entry.type === 'hardlink') entry.linkTarget = linkTarget;
    assertSafeEntry(entry);
    this.entryCount += 1;
    this.onEntry?.(entry);
    if (entry.type === 'file' && this.capture.has(entry.path) && size <= this.captureLimit) {
      this.bodyCapture = { path: entry.path, parts: [], size, taken: 0 };
    }
    if (entry.type === 'file' && (this.onFileData || this.onFileEnd)) this.bodyFile = { entry, remaining: size };
    this.bodyRemaining = entry.type === 'file' ? padded : 0;
    if (this.bodyRemaining === 0) this.finishBody();
  }

  private keepBody(bytes: Buffer): void {
    if (this.bodyFile && this.bodyFile.remaining > 0) {
      const data = bytes.subarray(0, this.bodyFile.remaining);
      this.bodyFile.remaining -= data.length;
      this.onFileData?.(this.bodyFile.entry, data);
    }
    const target = this.pendingMeta ?? this.bodyCapture;
    if (!target || target.taken >= target.size) return;
    const useful = bytes.subarray(0, target.size - target.taken);
    target.parts.push(Buffer.from(useful));
    target.taken += useful.length;
  }

  private finishBody(): void {
    if (this.bodyFile) {
      const { entry } = this.bodyFile;
      this.bodyFile = undefined;
      this.onFileEnd?.(entry);
    }
    if (this.pendingMeta) {
      const { kind, parts } = this.pendingMeta;
      this.pendingMeta = undefined;
      const text = Buffer.concat(parts).toString('utf8');
      if (kind === 'L') this.pendingLongName = cString(Buffer.from(text));
      else if (kind === 'K') this.pendingLongLink = cString(Buffer.from(text));
      else this.applyPax(text);
      return;
    }
    if (this.bodyCapture) {
      this.captured.set(this.bodyCapture.path, Buffer.concat(this.bodyCapture.parts));
      this.bodyCapture = undefined;
    }
  }

  /** pax extended header records: "<len> <key>=<value>\n". */
  private applyPax(text: string): void {
    for (const record of text.split('\n')) {
      const match = /^\d+ (path|linkpath)=(.*)$/s.exec(record);
      if (match?.[1] === 'path') this.pendingLongName = match[2];
      if (match?.[1] === 'linkpath') this.pendingLongLink = match[2];
    }
  }
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? bytes.length : end).toString('utf8');
}

/** Numeric fields are octal text, or base-256 when the high bit of the first byte is set (GNU, > 8 GiB). */
function parseSize(field: Buffer): number {
  if ((field[0]! & 0x80) !== 0) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = cString(field).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function verifyHeaderChecksum(block: Buffer): void {
  const recorded = parseInt(cString(block.subarray(148, 156)).trim(), 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  if (recorded !== sum) {
    throw new BackupError('DATA_CORRUPT', 'The backup archive has a damaged tar header.', 'The stored backup is corrupt; use another backup.');
  }
}

function entryType(typeflag: string): TarEntry['type'] {
  switch (typeflag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '5':
      return 'directory';
    case '2':
      return 'symlink';
    case '1':
      return 'hardlink';
    default:
      return 'other';
  }
}

function normalizeMemberPath(name: string): string {
  return name.replace(/^\.\//, '').replace(/\/+$/, '');
}

function escapes(path: string): boolean {
  return path.startsWith('/') || path.split('/').includes('..');
}

function assertSafeEntry(entry: TarEntry): void {
  const unsafe =
    (entry.path === '' && entry.type !== 'directory') ||
    escapes(entry.path) ||
    entry.type === 'other' ||
    (entry.type === 'hardlink' && escapes(entry.linkTarget ?? '')) ||
    (entry.type === 'symlink' && escapes(entry.linkTarget ?? ''));
  if (unsafe) {
    throw new BackupError(
      'DATA_CORRUPT',
      `The backup archive contains an entry that would be written outside the target directory: "${entry.path}"${entry.linkTarget ? ` -> "${entry.linkTarget}"` : ''}.`,
      'A pg_basebackup archive never contains such entries: treat this backup as tampered with.',
    );
  }
}
