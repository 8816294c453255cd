import { dataCorrupt } from './pipelineErrors.js';

/**
 * Cuts a stream of concatenated LZ4 frames (lz4 frame format 1.6.x) into whole frames. lz4-napi
 * only decodes one frame per call, silently ignores anything after it, and returns data for a
 * frame cut before its end mark (no error), so boundaries and completeness are checked here by
 * walking the block headers. Frames are buffered whole (lz4-napi has no streaming decoder); the
 * size bound keeps a damaged or foreign object from making that unbounded.
 */
const LZ4_MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const MAX_BLOCK_SIZES: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

type Field = 'magic' | 'descriptor' | 'descriptorRest' | 'blockSize' | 'skipSize' | 'checksum';

export class Lz4FrameSplitter {
  private pieces: Buffer[] = [];
  private frameBytes = 0;
  /** A small fixed-size field being collected, or undefined while skipping `skip` payload bytes. */
  private field: Field | undefined = 'magic';
  private need = 4;
  private fieldBytes: Buffer[] = [];
  private skip = 0;
  private skippable = false;
  private blockChecksum = false;
  private contentChecksum = false;
  private maxBlockSize = 0;
  private offset = 0;
  private frameStart = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds bytes; returns every LZ4 frame completed by them (skippable frames are dropped). */
  push(bytes: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let at = 0;
    while (at < bytes.length) {
      const want = this.field === undefined ? this.skip : this.need;
      const part = bytes.subarray(at, at + want);
      at += part.length;
      this.keep(part);
      if (this.field === undefined) {
        this.skip -= part.length;
        if (this.skip === 0) this.afterPayload();
        continue;
      }
      this.fieldBytes.push(part);
      this.need -= part.length;
      if (this.need === 0) {
        const value = Buffer.concat(this.fieldBytes);
        this.fieldBytes = [];
        this.onField(this.field, value, frames);
      }
    }
    return frames;
  }

  /** At end of input nothing may be pending: a partial frame means the object was truncated. */
  finish(): void {
    if (this.frameBytes > 0 || this.field !== 'magic' || this.need !== 4) {
      throw dataCorrupt(`The LZ4 data is truncated: the frame starting at stored byte offset ${this.frameStart} is incomplete.`);
    }
  }

  private keep(part: Buffer): void {
    this.offset += part.length;
    if (this.skippable) return;
    this.frameBytes += part.length;
    if (this.frameBytes > this.maxFrameBytes) {
      throw dataCorrupt(`The LZ4 frame at stored byte offset ${this.frameStart} is larger than any frame this tool writes.`);
    }
    this.pieces.push(part);
  }

  private expect(field: Field, bytes: number): void {
    this.field = field;
    this.need = bytes;
  }

  private onField(field: Field, value: Buffer, frames: Buffer[]): void {
    switch (field) {
      case 'magic': {
        this.frameStart = this.offset - 4;
        const magic = value.readUInt32LE(0);
        if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
          // A skippable frame carries no data for us; drop what was kept of it.
          this.skippable = true;
          this.pieces = [];
          this.frameBytes = 0;
          return this.expect('skipSize', 4);
        }
        if (magic !== LZ4_MAGIC) {
          throw dataCorrupt(`The data at stored byte offset ${this.frameStart} is not an LZ4 frame (magic 0x${magic.toString(16)}).`);
        }
        return this.expect('descriptor', 2);
      }
      case 'descriptor': {
        const flags = value[0] as number;
        const blockDescriptor = value[1] as number;
        const maxBlockSize = MAX_BLOCK_SIZES[(blockDescriptor >> 4) & 7];
        if (flags >> 6 !== 1 || (flags & 0x02) !== 0 || (blockDescriptor & 0x8f) !== 0 || maxBlockSize === undefined) {
          throw dataCorrupt(`The LZ4 frame at stored byte offset ${this.frameStart} has an invalid frame descriptor.`);
        }
        this.blockChecksum = (flags & 0x10) !== 0;
        this.contentChecksum = (flags & 0x04) !== 0;
        this.maxBlockSize = maxBlockSize;
        // Optional content size (8) and dictionary id (4), then the header checksum byte.
        return this.expect('descriptorRest', ((flags & 0x08) !== 0 ? 8 : 0) + ((flags & 0x01) !== 0 ? 4 : 0) + 1);
      }
      case 'descriptorRest':
        return this.expect('blockSize', 4);
      case 'blockSize': {
        const word = value.readUInt32LE(0);
        if (word === 0) {
          if (this.contentChecksum) return this.expect('checksum', 4);
          return this.completeFrame(frames);
        }
        const size = word & 0x7fffffff;
        if (size > this.maxBlockSize) {
          throw dataCorrupt(`An LZ4 block in the frame at stored byte offset ${this.frameStart} is larger than its frame allows.`);
        }
        return this.skipPayload(size + (this.blockChecksum ? 4 : 0));
      }
      case 'skipSize':
        return this.skipPayload(value.readUInt32LE(0));
      case 'checksum':
        return this.completeFrame(frames);
    }
  }

  private skipPayload(bytes: number): void {
    this.field = undefined;
    this.skip = bytes;
    if (bytes === 0) this.afterPayload();
  }

  private afterPayload(): void {
    if (this.skippable) {
      this.skippable = false;
      this.expect('magic', 4);
      return;
    }
    this.expect('blockSize', 4);
  }

  private completeFrame(frames: Buffer[]): void {
    frames.push(this.pieces.length === 1 ? (this.pieces[0] as Buffer) : Buffer.concat(this.pieces, this.frameBytes));
    this.pieces = [];
    this.frameBytes = 0;
    this.expect('magic', 4);
  }
}
