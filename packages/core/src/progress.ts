/**
 * Progress is a typed event stream: the CLI renders it as a bar on stderr, the TUI as a component,
 * the API as server-sent events. Core never prints.
 */
export interface ProgressEvent {
  /** What is happening now, e.g. "backup", "upload", "extract", "recovery", "validate". */
  phase: string;
  /** Bytes done in this phase (raw, uncompressed bytes where that is what the user thinks in). */
  bytes?: number;
  /** Expected total bytes of this phase, when known. */
  totalBytes?: number;
  /** A human sentence for the messages list ("Backup uploaded", "Recovery reached consistency"). */
  message?: string;
}

export type ProgressSink = (event: ProgressEvent) => void;

export const noProgress: ProgressSink = () => {};
