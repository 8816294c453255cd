import { FrameSplitter } from './frameSplitter.js';

/**
 * Cuts a stream of concatenated zstd frames (RFC 8878) into whole frames by walking the frame
 * header and the block headers, so frames can be decompressed in parallel. Only boundaries are
 * checked here; the decoder checks the content (and its XXH64 checksum).
 */
const ZSTD_MAGIC = 0xfd2fb528;
/** RFC 8878 3.1.1.2.4: a block never exceeds 128 KiB. */
const MAX_BLOCK_BYTES = 128 * 1024;
const DICTIONARY_ID_BYTES = [0, 1, 2, 4] as const;
const CONTENT_SIZE_BYTES = [0, 2, 4, 8] as const;

type Field = 'descriptor' | 'headerRest' | 'blockHeader' | 'checksum';

export class ZstdFrameSplitter extends FrameSplitter<Field> {
  private contentChecksum = false;
  private lastBlock = false;

  constructor(maxFrameBytes: number) {
    super('zstd', ZSTD_MAGIC, maxFrameBytes);
  }

  protected fieldAfterMagic(): [Field, number] {
    return ['descriptor', 1];
  }

  protected onPayloadEnd(): void {
    if (!this.lastBlock) return this.expect('blockHeader', 3);
    // The last block ends the frame, apart from the optional content checksum.
    if (this.contentChecksum) return this.expect('checksum', 4);
    this.completeFrame();
  }

  protected onField(field: Field, value: Buffer): void {
    switch (field) {
      case 'descriptor': {
        const descriptor = value[0] as number;
        if ((descriptor & 0x08) !== 0) throw this.corrupt('has the reserved bit of its frame header set');
        const singleSegment = (descriptor & 0x20) !== 0;
        const contentSizeFlag = descriptor >> 6;
        this.contentChecksum = (descriptor & 0x04) !== 0;
        const rest =
          (singleSegment ? 0 : 1) +
          DICTIONARY_ID_BYTES[(descriptor & 0x03) as 0 | 1 | 2 | 3] +
          (contentSizeFlag === 0 && singleSegment ? 1 : CONTENT_SIZE_BYTES[contentSizeFlag as 0 | 1 | 2 | 3]);
        return rest === 0 ? this.expect('blockHeader', 3) : this.expect('headerRest', rest);
      }
      case 'headerRest':
        return this.expect('blockHeader', 3);
      case 'blockHeader': {
        const header = value.readUIntLE(0, 3);
        this.lastBlock = (header & 1) === 1;
        const type = (header >> 1) & 3;
        const size = header >>> 3;
        if (type === 3) throw this.corrupt('holds a block of the reserved type');
        if (size > MAX_BLOCK_BYTES) throw this.corrupt('holds a block larger than 128 KiB');
        // A raw or compressed block stores `size` bytes; an RLE block stores one byte repeated `size` times.
        return this.skipPayload(type === 1 ? 1 : size);
      }
      case 'checksum':
        return this.completeFrame();
    }
  }
}
