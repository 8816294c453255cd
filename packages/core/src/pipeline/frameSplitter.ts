import { dataCorrupt } from './pipelineErrors.js';

/** Skippable frames share one magic range in the zstd and LZ4 formats: 0x184D2A50 … 0x184D2A5F. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

function isSkippableMagic(magic: number): boolean {
  return (magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC;
}

/** Every frame starts with a 4-byte little-endian magic; a skippable frame's then gives its size. */
type CommonField = 'magic' | 'skipSize';

/**
 * Cuts a stream of concatenated compressed frames into whole frames by walking their headers, so
 * each frame can be decoded on its own (on a worker, or by a codec that takes one frame per call).
 * The mechanics live here: collect a fixed-size header field, skip a payload of known length, keep
 * the bytes of the frame in progress, bound its size, drop skippable frames. A subclass knows the
 * fields of its format's frames after the magic.
 * Frames are buffered whole; the size bound keeps a damaged or foreign object from making that
 * unbounded.
 */
export abstract class FrameSplitter<Field extends string> {
  private pieces: Buffer[] = [];
  private frameBytes = 0;
  /** A small fixed-size field being collected, or undefined while skipping `skip` payload bytes. */
  private field: Field | CommonField | undefined = 'magic';
  private need = 4;
  private fieldBytes: Buffer[] = [];
  private skip = 0;
  private skippable = false;
  private offset = 0;
  /** Frames completed by the bytes of the current push, each as the pieces of input it spans. */
  private completed: Buffer[][] = [];
  /** Stored offset where the frame in progress starts (for error messages). */
  protected frameStart = 0;

  constructor(
    /** 'zstd' or 'LZ4', for error messages. */
    protected readonly format: string,
    /** The magic number of the format's data frames. */
    private readonly magic: number,
    private readonly maxFrameBytes: number,
  ) {}

  /** Feeds bytes; returns every frame completed by them (skippable frames are dropped). */
  push(bytes: Buffer): Buffer[] {
    return this.pushPieces(bytes).map((pieces) => (pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces)));
  }

  /**
   * Like push, but each frame comes as the views of the input pieces it spans, not joined: for a
   * consumer that copies them elsewhere anyway (saves a copy into fresh memory per frame).
   */
  pushPieces(bytes: Buffer): Buffer[][] {
    this.completed = [];
    let at = 0;
    while (at < bytes.length) {
      const want = this.field === undefined ? this.skip : this.need;
      const part = bytes.subarray(at, at + want);
      at += part.length;
      this.keep(part);
      if (this.field === undefined) {
        this.skip -= part.length;
        if (this.skip === 0) this.endPayload();
        continue;
      }
      this.fieldBytes.push(part);
      this.need -= part.length;
      if (this.need === 0) {
        const value = this.fieldBytes.length === 1 ? (this.fieldBytes[0] as Buffer) : Buffer.concat(this.fieldBytes);
        this.fieldBytes = [];
        this.onAnyField(this.field, value);
      }
    }
    return this.completed;
  }

  /** At end of input nothing may be pending: a partial frame means the object was truncated. */
  finish(): void {
    if (this.frameBytes > 0 || this.skippable || this.field !== 'magic' || this.need !== 4) {
      throw dataCorrupt(`The ${this.format} data is truncated: the frame starting at stored byte offset ${this.frameStart} is incomplete.`);
    }
  }

  /** The first field of a data frame after its magic. */
  protected abstract fieldAfterMagic(): [Field, number];
  /** Handles a complete field of a data frame: calls expect, skipPayload or completeFrame. */
  protected abstract onField(field: Field, value: Buffer): void;
  /** A payload of the frame was skipped: expect the next field or complete the frame. */
  protected abstract onPayloadEnd(): void;

  protected expect(field: Field | CommonField, bytes: number): void {
    this.field = field;
    this.need = bytes;
  }

  protected skipPayload(bytes: number): void {
    this.field = undefined;
    this.skip = bytes;
    if (bytes === 0) this.endPayload();
  }

  protected completeFrame(): void {
    this.completed.push(this.pieces);
    this.pieces = [];
    this.frameBytes = 0;
    this.expectMagic();
  }

  protected corrupt(what: string): Error {
    return dataCorrupt(`The ${this.format} frame at stored byte offset ${this.frameStart} ${what}.`);
  }

  private onAnyField(field: Field | CommonField, value: Buffer): void {
    if (field === 'skipSize') return this.skipPayload(value.readUInt32LE(0));
    if (field !== 'magic') return this.onField(field, value);
    this.frameStart = this.offset - 4;
    const magic = value.readUInt32LE(0);
    if (isSkippableMagic(magic)) {
      // A skippable frame carries no data for us: drop what was kept of it.
      this.skippable = true;
      this.pieces = [];
      this.frameBytes = 0;
      return this.expect('skipSize', 4);
    }
    if (magic !== this.magic) {
      throw dataCorrupt(`The data at stored byte offset ${this.frameStart} is not ${this.format === 'LZ4' ? 'an' : 'a'} ${this.format} frame (magic 0x${magic.toString(16)}).`);
    }
    this.expect(...this.fieldAfterMagic());
  }

  private expectMagic(): void {
    this.expect('magic', 4);
  }

  private keep(part: Buffer): void {
    this.offset += part.length;
    if (this.skippable) return;
    this.frameBytes += part.length;
    if (this.frameBytes > this.maxFrameBytes) throw this.corrupt('is larger than any frame this tool writes');
    this.pieces.push(part);
  }

  private endPayload(): void {
    if (this.skippable) {
      this.skippable = false;
      this.expectMagic();
      return;
    }
    this.onPayloadEnd();
  }
}
