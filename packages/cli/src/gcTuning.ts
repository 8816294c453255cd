import { setFlagsFromString } from 'node:v8';

/** The commands that stream a whole backup through this process. */
const STREAMING_COMMANDS = new Set(['backup', 'restore', 'verify-backup']);

/**
 * For a command that streams the whole backup through this process (backup, restore,
 * verify-backup): turn off V8's incremental marking. With the CLI's ~12 MB heap, V8 starts a
 * marking cycle early and often while hundreds of MB of buffers flow past (20–45 full
 * collections in a 780 MB backup, verify or restore, their helper threads busy for seconds on 2
 * cores); without it a full collection runs only when the heap or the external memory really
 * reaches its limit. Paired runs on 780 MB: backup −5 % wall, verify −10 %, restore −21 %; peak
 * RSS +6 / +14 / +22 MB (restore 188 → 210 MB; while restore still piped into tar -x it was
 * 220 → 252, past our 250 MB budget). Called by bin/run.js before anything else is loaded: the
 * flag must not change while a marking cycle runs, and none has started on the small start-up
 * heap. Other commands (the API server, the TUI) keep V8's default: short pauses matter more there.
 */
export function favourStreamingThroughputGc(argv: readonly string[]): void {
  const [topic, command] = argv;
  if (topic === 'database' && command !== undefined && STREAMING_COMMANDS.has(command)) setFlagsFromString('--no-incremental-marking');
}
