/**
 * Bytes received but not yet parsed. Parsers wait for a known number of bytes (a length prefix,
 * a whole chunk) that arrives spread over many stream chunks; joining once per take keeps that
 * linear instead of re-concatenating on every arrival.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** Removes and returns up to `max` bytes without copying (from the first queued piece only). */
  takeUpTo(max: number): Buffer {
    const first = this.chunks[0];
    if (!first || max <= 0) return Buffer.alloc(0);
    return this.take(Math.min(max, first.length));
  }

  /** Removes and returns the first `count` bytes; the caller checks `length` first. */
  take(count: number): Buffer {
    if (count > this.size) throw new RangeError(`take(${count}) with ${this.size} bytes queued`);
    const first = this.chunks[0];
    if (first && first.length >= count) {
      const taken = first.subarray(0, count);
      if (first.length === count) this.chunks.shift();
      else this.chunks[0] = first.subarray(count);
      this.size -= count;
      return taken;
    }
    const out = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[0] as Buffer;
      const part = Math.min(chunk.length, count - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    this.size -= count;
    return out;
  }
}
