import { Text } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ProgressSink } from '@llm-analytics/core';
import { useTheme } from '../theme.js';
import { useProgress } from './progress.js';

export type OperationState<T> =
  | { state: 'idle' }
  | { state: 'running'; asking: boolean; cancelling: boolean }
  | { state: 'done'; result: T }
  | { state: 'failed'; error: unknown };

/**
 * A long core operation with live progress and cancellation: `cancel()` aborts the core call's
 * AbortSignal; the engine cleans up and rejects with CANCELLED, which shows as the failure.
 */
export function useOperation<T>() {
  const { state: progress, sink, flush } = useProgress();
  const [operation, setOperation] = useState<OperationState<T>>({ state: 'idle' });
  const controller = useRef<AbortController | undefined>(undefined);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      // Leaving the screen while something runs must not leave it running unseen.
      controller.current?.abort();
    };
  }, []);

  const start = useCallback(
    (run: (progress: ProgressSink, signal: AbortSignal) => Promise<T>) => {
      const abort = new AbortController();
      controller.current = abort;
      setOperation({ state: 'running', asking: false, cancelling: false });
      Promise.resolve()
        .then(() => run(sink, abort.signal))
        .then(
          (result) => mounted.current && setOperation({ state: 'done', result }),
          (error: unknown) => mounted.current && setOperation({ state: 'failed', error }),
        )
        .finally(() => mounted.current && flush());
    },
    [sink, flush],
  );
  const ask = (asking: boolean) => setOperation((current) => (current.state === 'running' && !current.cancelling ? { ...current, asking } : current));
  const cancel = () => {
    controller.current?.abort();
    setOperation((current) => (current.state === 'running' ? { state: 'running', asking: false, cancelling: true } : current));
  };
  return { operation, progress, start, ask, cancel };
}

/** Ctrl-C (or Esc) during a run asks first; `y` cancels, anything else keeps it running. */
export function handleRunningKeys(operation: OperationState<unknown>, input: string, key: { ctrl: boolean; escape: boolean }, actions: { ask(asking: boolean): void; cancel(): void }): boolean {
  if (operation.state !== 'running') return false;
  if (operation.cancelling) return true;
  if (operation.asking) {
    if (input === 'y' || input === 'Y') actions.cancel();
    else actions.ask(false);
    return true;
  }
  if ((key.ctrl && input === 'c') || key.escape) actions.ask(true);
  return true;
}

export function RunningFooter({ operation, what }: { operation: OperationState<unknown>; what: string }) {
  const theme = useTheme();
  if (operation.state !== 'running') return null;
  if (operation.cancelling) return <Text color={theme.warn}>Cancelling the {what}: waiting for it to clean up…</Text>;
  if (operation.asking)
    return (
      <Text bold color={theme.warn}>
        Cancel the running {what}? Nothing half-done is kept. y = cancel, any other key = continue
      </Text>
    );
  return <Text color={theme.dim}>Running… Ctrl-C to cancel</Text>;
}
