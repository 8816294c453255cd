import type { ProgressEvent, ProgressSink } from '@llm-analytics/core';
import { formatSize } from './format.js';

/**
 * Renders core progress events as one status line on stderr: bytes, rate and ETA. Only on a
 * terminal: scripts and --json get clean streams.
 */
export function stderrProgress(enabled: boolean): ProgressSink & { finish(): void } {
  const stream = process.stderr;
  const active = enabled && stream.isTTY === true;
  let phase = '';
  let phaseStart = Date.now();
  let lastDraw = 0;
  let drawn = false;
  const sink = (event: ProgressEvent) => {
    if (!active) return;
    if (event.phase !== phase) {
      phase = event.phase;
      phaseStart = Date.now();
    }
    if (event.bytes === undefined) return;
    const now = Date.now();
    if (now - lastDraw < 200) return;
    lastDraw = now;
    const seconds = Math.max((now - phaseStart) / 1000, 0.001);
    const rate = event.bytes / seconds;
    const total = event.totalBytes && event.totalBytes >= event.bytes ? event.totalBytes : undefined;
    const eta = total && rate > 0 ? ` ETA ${Math.ceil((total - event.bytes) / rate)} s` : '';
    const done = total ? ` / ${formatSize(total)}` : '';
    stream.write(`\r\x1b[K${phase}: ${formatSize(event.bytes)}${done}  ${formatSize(rate)}/s${eta}`);
    drawn = true;
  };
  return Object.assign(sink, {
    finish() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  });
}
