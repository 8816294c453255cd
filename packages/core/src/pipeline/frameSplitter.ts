import { dataCorrupt } from './pipelineErrors.js';

/** Skippable frames share one magic range in the zstd and LZ4 formats: 0x184D2A50 … 0x184D2A5F. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

export function isSkippableMagic(magic: number): boolean {
  return (magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC;
}

/**
 * Cuts a stream of concatenated compressed frames into whole frames by walking their headers, so
 * each frame can be decoded on its own (on a worker, or by a codec that takes one frame per call).
 * The mechanics live here: collect a fixed-size header field, skip a payload of known length, keep
 * the bytes of the frame in progress, bound its size. A subclass knows its format's fields.
 * Frames are buffered whole; the size bound keeps a damaged or foreign object from making that
 * unbounded.
 */
export abstract class FrameSplitter<Field extends string> {
  private pieces: Buffer[] = [];
  private frameBytes = 0;
  /** A small fixed-size field being collected, or undefined while skipping `skip` payload bytes. */
  private field: Field | undefined;
  private need: number;
  private fieldBytes: Buffer[] = [];
  private skip = 0;
  private skippable = false;
  private offset = 0;
  /** Frames completed by the bytes of the current push. */
  private completed: Buffer[] = [];
  /** Stored offset where the frame in progress starts (for error messages). */
  protected frameStart = 0;

  constructor(
    /** 'zstd' or 'LZ4', for error messages. */
    protected readonly format: string,
    private readonly maxFrameBytes: number,
    private readonly firstField: Field,
    private readonly firstFieldBytes: number,
  ) {
    this.field = firstField;
    this.need = firstFieldBytes;
  }

  /** Feeds bytes; returns every frame completed by them (skippable frames are dropped). */
  push(bytes: Buffer): Buffer[] {
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
        if (this.field === this.firstField && this.frameBytes === this.firstFieldBytes) this.frameStart = this.offset - this.firstFieldBytes;
        this.onField(this.field, value);
      }
    }
    return this.completed;
  }

  /** At end of input nothing may be pending: a partial frame means the object was truncated. */
  finish(): void {
    if (this.frameBytes > 0 || this.skippable || this.field !== this.firstField || this.need !== this.firstFieldBytes) {
      throw dataCorrupt(`The ${this.format} data is truncated: the frame starting at stored byte offset ${this.frameStart} is incomplete.`);
    }
  }

  /** Handles a complete field: calls expect, skipPayload, beginSkippableFrame or completeFrame. */
  protected abstract onField(field: Field, value: Buffer): void;
  /** A payload of the frame was skipped: expect the next field or complete the frame. */
  protected abstract onPayloadEnd(): void;

  protected expect(field: Field, bytes: number): void {
    this.field = field;
    this.need = bytes;
  }

  protected skipPayload(bytes: number): void {
    this.field = undefined;
    this.skip = bytes;
    if (bytes === 0) this.endPayload();
  }

  /** The magic just read opens a skippable frame: what is kept of it is dropped. */
  protected beginSkippableFrame(): void {
    this.skippable = true;
    this.pieces = [];
    this.frameBytes = 0;
  }

  protected completeFrame(): void {
    this.completed.push(this.pieces.length === 1 ? (this.pieces[0] as Buffer) : Buffer.concat(this.pieces, this.frameBytes));
    this.pieces = [];
    this.frameBytes = 0;
    this.expect(this.firstField, this.firstFieldBytes);
  }

  protected corrupt(what: string): Error {
    return dataCorrupt(`The ${this.format} frame at stored byte offset ${this.frameStart} ${what}.`);
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
      this.expect(this.firstField, this.firstFieldBytes);
      return;
    }
    this.onPayloadEnd();
  }
}
