/**
 * The tar format, read: headers, bodies, GNU long names and pax paths, and the checks that keep
 * an extracted member inside its directory. TarWalker (the stream stage, with captures) wraps it;
 * the restore's frame extractor threads run it on their own (host/frameExtractor.ts).
 *
 * Self-contained on purpose: no imports, and nothing outside the class but the language's
 * built-ins and Buffer, because the extractor threads are started from its source text
 * (`String(TarParser)`), the way every worker of this package is (see codecPool.ts for why).
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

/**
 * Where a byte offset of a tar stream falls, with what it takes to start reading there: at a
 * member header (with a long name announced just before it), inside a regular file's body
 * (`offset` bytes of the body, padding included, lie before it), or after the end-of-archive
 * marker. 'other' is anywhere else (inside an extension header's body): reading cannot start there.
 * Recorded for every frame of a backup, so a restore can extract frames in parallel.
 */
export type TarPosition =
  | { at: 'header'; longName?: string; longLink?: string }
  | { at: 'body'; path: string; size: number; mode: number; mtime: number; offset: number }
  | { at: 'end' }
  | { at: 'other' };

export interface TarHandler {
  onEntry?(entry: TarEntry): void;
  /** Reading started inside this file's body (see TarPosition): its first `offset` bytes came before. */
  onResume?(entry: TarEntry, offset: number): void;
  /** Every byte of a regular file's body (padding excluded), in order, valid only during the call. */
  onFileData?(entry: TarEntry, bytes: Buffer): void;
  onFileEnd?(entry: TarEntry): void;
}

/** What a damaged or unsafe archive throws: the caller gives it its error type and code. */
export interface TarProblem extends Error {
  tarProblem: true;
  hint: string;
}

const BLOCK = 512;

export class TarParser {
  entryCount = 0;
  /** The regular file whose body is passing, and how many of its (unpadded) bytes remain. */
  private bodyFile: { entry: TarEntry; remaining: number } | undefined;
  private header: Buffer = Buffer.alloc(0);
  /** Body bytes (with padding) of the current member still to pass. */
  private bodyRemaining = 0;
  /** Name from a GNU long-name ('L'/'K') or pax ('x') header, applying to the next member. */
  private pendingLongName: string | undefined;
  private pendingLongLink: string | undefined;
  private pendingMeta: { kind: string; parts: Buffer[]; size: number; taken: number } | undefined;
  private ended = false;

  constructor(
    private readonly handler: TarHandler = {},
    start: TarPosition = { at: 'header' },
  ) {
    if (start.at === 'header') {
      this.pendingLongName = start.longName;
      this.pendingLongLink = start.longLink;
    } else if (start.at === 'end') {
      this.ended = true;
    } else if (start.at === 'body') {
      const entry: TarEntry = { path: start.path, type: 'file', size: start.size, mode: start.mode, mtime: start.mtime };
      const padded = Math.ceil(entry.size / BLOCK) * BLOCK;
      if (!Number.isSafeInteger(start.offset) || start.offset < 0 || start.offset >= padded || TarParser.unsafe(entry)) {
        throw TarParser.problem(`The backup's frame index points into the body of "${start.path}" at an impossible place.`, 'The backup metadata is damaged: use another backup.');
      }
      this.bodyFile = { entry, remaining: Math.max(0, entry.size - start.offset) };
      this.bodyRemaining = padded - start.offset;
      handler.onResume?.(entry, start.offset);
    } else {
      throw TarParser.problem('The backup\'s frame index starts a frame where reading cannot start.', 'The backup metadata is damaged: use another backup.');
    }
  }

  /** The next piece of the archive. Keeps no reference to it after returning. */
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
      const take = Math.min(BLOCK - this.header.length, chunk.length - offset);
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

  /** After the last piece: the archive must not stop inside a member. */
  endOfInput(): void {
    if (this.bodyRemaining > 0 || this.header.length > 0) {
      throw TarParser.problem('The backup archive ends in the middle of a tar member.', 'The stored backup is truncated; use another backup.');
    }
  }

  /** Where reading stands now (see TarPosition). */
  position(): TarPosition {
    if (this.header.length > 0) return { at: 'other' };
    if (this.bodyRemaining > 0) {
      if (!this.bodyFile) return { at: 'other' };
      const { path, size, mode, mtime } = this.bodyFile.entry;
      return { at: 'body', path, size, mode, mtime, offset: Math.ceil(size / BLOCK) * BLOCK - this.bodyRemaining };
    }
    if (this.ended) return { at: 'end' };
    const position: TarPosition = { at: 'header' };
    if (this.pendingLongName !== undefined) position.longName = this.pendingLongName;
    if (this.pendingLongLink !== undefined) position.longLink = this.pendingLongLink;
    return position;
  }

  private readHeader(block: Buffer): void {
    if (block.every((byte) => byte === 0)) {
      this.ended = true;
      return;
    }
    if (!TarParser.checksumMatches(block)) {
      throw TarParser.problem('The backup archive has a damaged tar header.', 'The stored backup is corrupt; use another backup.');
    }
    const typeflag = String.fromCharCode(block[156] as number);
    const size = TarParser.number(block.subarray(124, 136));
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
    const prefix = TarParser.text(block.subarray(345, 500));
    const name = this.pendingLongName ?? (prefix ? `${prefix}/${TarParser.text(block.subarray(0, 100))}` : TarParser.text(block.subarray(0, 100)));
    const linkTarget = this.pendingLongLink ?? TarParser.text(block.subarray(157, 257));
    this.pendingLongName = undefined;
    this.pendingLongLink = undefined;
    const entry: TarEntry = {
      path: name.replace(/^\.\//, '').replace(/\/+$/, ''),
      type: TarParser.entryType(typeflag),
      size,
      mode: TarParser.number(block.subarray(100, 108)) & 0o7777,
      mtime: TarParser.number(block.subarray(136, 148)),
    };
    if (entry.type === 'symlink' || entry.type === 'hardlink') entry.linkTarget = linkTarget;
    if (TarParser.unsafe(entry)) {
      throw TarParser.problem(
        `The backup archive contains an entry that would be written outside the target directory: "${entry.path}"${entry.linkTarget ? ` -> "${entry.linkTarget}"` : ''}.`,
        'A pg_basebackup archive never contains such entries: treat this backup as tampered with.',
      );
    }
    this.entryCount += 1;
    this.handler.onEntry?.(entry);
    if (entry.type === 'file') this.bodyFile = { entry, remaining: size };
    this.bodyRemaining = entry.type === 'file' ? padded : 0;
    if (this.bodyRemaining === 0) this.finishBody();
  }

  private keepBody(bytes: Buffer): void {
    const file = this.bodyFile;
    if (file && file.remaining > 0) {
      const data = bytes.subarray(0, file.remaining);
      file.remaining -= data.length;
      this.handler.onFileData?.(file.entry, data);
    }
    const meta = this.pendingMeta;
    if (!meta || meta.taken >= meta.size) return;
    const useful = bytes.subarray(0, meta.size - meta.taken);
    meta.parts.push(Buffer.from(useful));
    meta.taken += useful.length;
  }

  private finishBody(): void {
    if (this.bodyFile) {
      const { entry } = this.bodyFile;
      this.bodyFile = undefined;
      this.handler.onFileEnd?.(entry);
    }
    if (!this.pendingMeta) return;
    const { kind, parts } = this.pendingMeta;
    this.pendingMeta = undefined;
    const text = Buffer.concat(parts).toString('utf8');
    if (kind === 'L') this.pendingLongName = TarParser.text(Buffer.from(text));
    else if (kind === 'K') this.pendingLongLink = TarParser.text(Buffer.from(text));
    else {
      // pax extended header records: "<len> <key>=<value>\n".
      for (const record of text.split('\n')) {
        const match = /^\d+ (path|linkpath)=(.*)$/s.exec(record);
        if (match?.[1] === 'path') this.pendingLongName = match[2];
        if (match?.[1] === 'linkpath') this.pendingLongLink = match[2];
      }
    }
  }

  static problem(message: string, hint: string): TarProblem {
    return Object.assign(new Error(message), { tarProblem: true as const, hint });
  }

  /** A NUL-terminated header field. */
  static text(bytes: Buffer): string {
    const end = bytes.indexOf(0);
    return bytes.subarray(0, end === -1 ? bytes.length : end).toString('utf8');
  }

  /** Numeric fields are octal text, or base-256 when the high bit of the first byte is set (GNU, > 8 GiB). */
  static number(field: Buffer): number {
    if (((field[0] as number) & 0x80) !== 0) {
      let value = 0;
      for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] as number);
      return value;
    }
    const text = TarParser.text(field).trim();
    return text === '' ? 0 : parseInt(text, 8);
  }

  static checksumMatches(block: Buffer): boolean {
    const recorded = parseInt(TarParser.text(block.subarray(148, 156)).trim(), 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] as number);
    return recorded === sum;
  }

  static entryType(typeflag: string): TarEntry['type'] {
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

  /** Would land outside the target directory when extracted, or is a device, FIFO or the like. */
  static unsafe(entry: TarEntry): boolean {
    const escapes = (path: string) => path.startsWith('/') || path.split('/').includes('..');
    return (
      (entry.path === '' && entry.type !== 'directory') ||
      escapes(entry.path) ||
      entry.type === 'other' ||
      ((entry.type === 'hardlink' || entry.type === 'symlink') && escapes(entry.linkTarget ?? ''))
    );
  }
}

/** TarParser's source, for a worker thread: `BLOCK` is the one name outside the class it uses. */
export const TAR_PARSER_SOURCE = `const BLOCK = ${BLOCK};\n${String(TarParser)}`;
