import type { Duplex } from 'node:stream';
import { cancelled } from './pipelineErrors.js';

/**
 * Destroys `stream` with CANCELLED when `signal` aborts (or already has). Returns the function
 * that detaches the listener, for the stream's _destroy, so a long-lived signal does not keep
 * every finished stream reachable.
 */
export function cancelOnAbort(stream: Duplex, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    process.nextTick(() => stream.destroy(cancelled()));
    return () => {};
  }
  const onAbort = (): void => {
    stream.destroy(cancelled());
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
