import { Box, Text } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ProgressEvent, ProgressSink } from '@llm-analytics/core';
import { fit, formatDuration, formatSize } from '../format.js';
import { useTheme } from '../theme.js';

interface PhaseState {
  phase: string;
  bytes: number;
  totalBytes?: number;
  startedAt: number;
  updatedAt: number;
}

export interface ProgressState {
  phases: PhaseState[];
  messages: string[];
}

/**
 * Collects core progress events; re-renders at most every 100 ms however fast the engine
 * reports, so a fast stream never makes the terminal the bottleneck.
 */
export function useProgress(clock: () => number = Date.now): { state: ProgressState; sink: ProgressSink; flush(): void } {
  const current = useRef<ProgressState>({ phases: [], messages: [] });
  const [state, setState] = useState<ProgressState>(current.current);
  const lastRender = useRef(0);
  const timer = useRef<NodeJS.Timeout | undefined>(undefined);
  const flush = useCallback(() => {
    clearTimeout(timer.current);
    timer.current = undefined;
    lastRender.current = clock();
    setState({ phases: [...current.current.phases], messages: [...current.current.messages] });
  }, [clock]);
  const sink = useCallback(
    (event: ProgressEvent) => {
      const now = clock();
      const state = current.current;
      if (event.message) state.messages = [...state.messages, event.message].slice(-50);
      if (event.bytes !== undefined || event.totalBytes !== undefined) {
        const existing = state.phases.find((phase) => phase.phase === event.phase);
        if (existing) {
          existing.bytes = event.bytes ?? existing.bytes;
          existing.totalBytes = event.totalBytes ?? existing.totalBytes;
          existing.updatedAt = now;
        } else {
          state.phases = [...state.phases, { phase: event.phase, bytes: event.bytes ?? 0, totalBytes: event.totalBytes, startedAt: now, updatedAt: now }];
        }
      }
      if (now - lastRender.current >= 100) flush();
      else timer.current ??= setTimeout(flush, 100);
    },
    [clock, flush],
  );
  useEffect(() => () => clearTimeout(timer.current), []);
  return { state, sink, flush };
}

/** One bar per phase with bytes, rate and ETA, then the last messages. */
export function ProgressView({ state, width, messageLines = 6 }: { state: ProgressState; width: number; messageLines?: number }) {
  const theme = useTheme();
  const barWidth = Math.max(10, Math.min(40, width - 46));
  return (
    <Box flexDirection="column">
      {state.phases.map((phase) => {
        const seconds = Math.max(0.001, (phase.updatedAt - phase.startedAt) / 1000);
        const rate = phase.bytes / seconds;
        const ratio = phase.totalBytes ? Math.min(1, phase.bytes / phase.totalBytes) : undefined;
        const filled = ratio === undefined ? 0 : Math.round(ratio * barWidth);
        const eta = ratio !== undefined && rate > 0 && phase.totalBytes ? (phase.totalBytes - phase.bytes) / rate : undefined;
        return (
          <Text key={phase.phase} wrap="truncate">
            {fit(phase.phase, 9)}{' '}
            <Text color={theme.accent}>{ratio === undefined ? '·'.repeat(barWidth) : '█'.repeat(filled) + '░'.repeat(barWidth - filled)}</Text>{' '}
            {ratio === undefined ? '    ' : fit(`${Math.round(ratio * 100)}%`, 4, 'right')} {fit(formatSize(phase.bytes), 9, 'right')}{' '}
            {fit(`${formatSize(rate)}/s`, 11, 'right')} {eta === undefined ? '' : `ETA ${formatDuration(eta)}`}
          </Text>
        );
      })}
      {state.messages.slice(-messageLines).map((message, index) => (
        <Text key={`${index}-${message}`} wrap="truncate">
          <Text color={theme.dim}>›</Text> {message}
        </Text>
      ))}
    </Box>
  );
}
