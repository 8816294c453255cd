import { FrameSplitter } from './frameSplitter.js';

/**
 * Cuts a stream of concatenated LZ4 frames (lz4 frame format 1.6.x) into whole frames. lz4-napi
 * only decodes one frame per call, silently ignores anything after it, and returns data for a
 * frame cut before its end mark (no error), so boundaries and completeness are checked here by
 * walking the block headers.
 */
const LZ4_MAGIC = 0x184d2204;
const MAX_BLOCK_SIZES: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

type Field = 'descriptor' | 'descriptorRest' | 'blockSize' | 'checksum';

export class Lz4FrameSplitter extends FrameSplitter<Field> {
  private blockChecksum = false;
  private contentChecksum = false;
  private maxBlockSize = 0;

  constructor(maxFrameBytes: number) {
    super('LZ4', LZ4_MAGIC, maxFrameBytes);
  }

  protected fieldAfterMagic(): [Field, number] {
    return ['descriptor', 2];
  }

  protected onPayloadEnd(): void {
    this.expect('blockSize', 4);
  }

  protected onField(field: Field, value: Buffer): void {
    switch (field) {
      case 'descriptor': {
        const flags = value[0] as number;
        const blockDescriptor = value[1] as number;
        const maxBlockSize = MAX_BLOCK_SIZES[(blockDescriptor >> 4) & 7];
        if (flags >> 6 !== 1 || (flags & 0x02) !== 0 || (blockDescriptor & 0x8f) !== 0 || maxBlockSize === undefined) {
          throw this.corrupt('has an invalid frame descriptor');
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
          return this.completeFrame();
        }
        const size = word & 0x7fffffff;
        if (size > this.maxBlockSize) throw this.corrupt('has a block larger than its frame allows');
        return this.skipPayload(size + (this.blockChecksum ? 4 : 0));
      }
      case 'checksum':
        return this.completeFrame();
    }
  }
}
