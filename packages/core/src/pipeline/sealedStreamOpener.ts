import { ByteQueue } from './byteQueue.js';
import { ChunkOpening, openObjectKey, type ObjectKey } from './encryption.js';
import { HEADER_PREFIX_BYTES, headerLength } from './encryptionHeader.js';
import { GCM_TAG_BYTES, LENGTH_PREFIX_BYTES, MAX_CHUNK_CIPHERTEXT_LENGTH } from './format.js';
import { dataCorrupt } from './pipelineErrors.js';

interface ChunkInProgress {
  opening: ChunkOpening;
  /** Ciphertext bytes not yet received. */
  remaining: number;
  final: boolean;
}

/**
 * Reads an encrypted object incrementally (see format.ts): header, then sealed chunks, then the
 * final chunk. A chunk's ciphertext is decrypted as it arrives, but its plaintext is released
 * only once the chunk's tag verified.
 */
export class SealedStreamOpener {
  private readonly queue = new ByteQueue();
  private prefix?: Buffer;
  private key?: ObjectKey;
  private chunk?: ChunkInProgress;
  private counter = 0;
  /** Stored offset of the first byte still in the queue (for error messages). */
  private consumed = 0;
  private finished = false;

  constructor(private readonly passphrase: string | undefined) {}

  /** Feeds stored bytes; returns the plaintext (compressed frame bytes) of each chunk completed. */
  async push(bytes: Buffer): Promise<Buffer[]> {
    this.queue.push(bytes);
    if (!this.key && !(await this.openHeader())) return [];
    const plaintext: Buffer[] = [];
    for (;;) {
      if (this.finished) {
        if (this.queue.length > 0) {
          throw dataCorrupt(`The encrypted object continues after its final chunk (at stored byte offset ${this.consumed}).`);
        }
        return plaintext;
      }
      const opened = this.nextChunk();
      if (opened === undefined) return plaintext;
      plaintext.push(...opened);
    }
  }

  /** Called at end of input: an object must end exactly with its final chunk. */
  finish(): void {
    if (this.finished) return;
    const where = this.key
      ? `after ${this.counter} chunk(s) at stored byte offset ${this.consumed + this.queue.length}`
      : `inside its encryption header (${this.consumed + this.queue.length} bytes)`;
    throw dataCorrupt(`The encrypted object is truncated: it ends ${where} without its final chunk.`);
  }

  private take(count: number): Buffer {
    this.consumed += count;
    return this.queue.take(count);
  }

  private async openHeader(): Promise<boolean> {
    if (!this.prefix) {
      if (this.queue.length < HEADER_PREFIX_BYTES) return false;
      this.prefix = this.take(HEADER_PREFIX_BYTES);
    }
    const rest = headerLength(this.prefix) - HEADER_PREFIX_BYTES;
    if (this.queue.length < rest) return false;
    this.key = await openObjectKey(Buffer.concat([this.prefix, this.take(rest)]), this.passphrase);
    return true;
  }

  /** The next chunk's verified plaintext, or undefined while its bytes have not all arrived. */
  private nextChunk(): Buffer[] | undefined {
    if (!this.chunk) {
      if (this.queue.length < LENGTH_PREFIX_BYTES) return undefined;
      const chunkOffset = this.consumed;
      const length = this.take(LENGTH_PREFIX_BYTES).readUInt32BE(0);
      if (length > MAX_CHUNK_CIPHERTEXT_LENGTH) {
        throw dataCorrupt(
          `Encrypted chunk ${this.counter} (stored byte offset ${chunkOffset}) announces ${length} bytes, more than any frame this tool writes.`,
        );
      }
      const final = length === 0;
      this.chunk = { opening: new ChunkOpening(this.key as ObjectKey, this.counter, final, chunkOffset), remaining: length, final };
    }
    const chunk = this.chunk;
    while (chunk.remaining > 0 && this.queue.length > 0) {
      const piece = this.queue.takeUpTo(chunk.remaining);
      this.consumed += piece.length;
      chunk.remaining -= piece.length;
      chunk.opening.update(piece);
    }
    if (chunk.remaining > 0 || this.queue.length < GCM_TAG_BYTES) return undefined;
    const plaintext = chunk.opening.finish(this.take(GCM_TAG_BYTES));
    this.finished = chunk.final;
    this.chunk = undefined;
    this.counter += 1;
    return plaintext;
  }
}
