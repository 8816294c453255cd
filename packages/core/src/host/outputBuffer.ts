/**
 * Collects a command's output in memory, either capped (exec: more than the cap is an error,
 * because a caller that expects text would otherwise hold a whole database dump) or as a rolling
 * tail (stderr of a long stream: only the end explains a failure).
 */
export class OutputBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  overflowed = false;

  constructor(
    private readonly limit: number,
    private readonly mode: 'cap' | 'tail',
  ) {}

  push(chunk: Buffer): void {
    if (this.mode === 'cap') {
      if (this.size + chunk.length > this.limit) {
        this.overflowed = true;
        return;
      }
      this.chunks.push(chunk);
      this.size += chunk.length;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    const kept = this.mode === 'tail' && all.length > this.limit ? all.subarray(all.length - this.limit) : all;
    return kept.toString('utf8');
  }
}
