/** Progress callbacks fire at most once per this many raw bytes (plus once at the end). */
export const PROGRESS_INTERVAL_BYTES = 4 * 1024 * 1024;

export type RawProgress = (rawBytes: number) => void;

/** Rate-limits a raw-byte progress callback so a fast stream does not flood the renderer. */
export class ProgressThrottle {
  private reported = 0;

  constructor(private readonly onProgress: RawProgress | undefined) {}

  update(rawBytes: number): void {
    if (!this.onProgress || rawBytes - this.reported < PROGRESS_INTERVAL_BYTES) return;
    this.reported = rawBytes;
    this.onProgress(rawBytes);
  }

  finish(rawBytes: number): void {
    if (!this.onProgress || (rawBytes === this.reported && rawBytes > 0)) return;
    this.reported = rawBytes;
    this.onProgress(rawBytes);
  }
}
