import type { ProgressSink } from '@llm-analytics/core';
import { stderrProgress } from './progress.js';

/**
 * Runs a long core operation the way every command does: progress on stderr (when it is a
 * terminal and not --json), and Ctrl-C / SIGTERM turned into the operation's AbortSignal so the
 * engine stops its processes and leaves nothing half-written looking complete.
 */
export async function runOperation<T>(json: boolean, operation: (signal: AbortSignal, progress: ProgressSink) => Promise<T>): Promise<T> {
  const progress = stderrProgress(!json);
  const controller = new AbortController();
  const cancel = () => controller.abort();
  process.once('SIGINT', cancel);
  process.once('SIGTERM', cancel);
  try {
    return await operation(controller.signal, progress);
  } finally {
    progress.finish();
    process.off('SIGINT', cancel);
    process.off('SIGTERM', cancel);
  }
}
