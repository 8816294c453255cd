/** Human formatting for the screens: short, fixed-width where it sits in a table column. */

import { formatSize as formatSizeIn } from '@llm-analytics/core/units';

/** "2.0 GB", "512 MB": three significant digits at most, for table columns. */
export function formatSize(bytes: number): string {
  return formatSizeIn(bytes, 'compact');
}

/** "3d", "5h", "12m", "now": the age column. */
export function formatAge(startTime: string, now: Date): string {
  const seconds = Math.max(0, (now.getTime() - new Date(startTime).getTime()) / 1000);
  if (seconds >= 86_400) return `${Math.floor(seconds / 86_400)}d`;
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)}h`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)}m`;
  return 'now';
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** Cuts to a column width, marking the cut with an ellipsis; pads to exactly `width`. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const cut = text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
  return align === 'left' ? cut.padEnd(width) : cut.padStart(width);
}

/** The short form of a backup id: its time and random suffix (the database has its own column). */
export function shortId(id: string): string {
  const match = /-(\d{8}T\d{6}Z-[0-9a-f]+)$/.exec(id);
  return match ? match[1]! : id;
}
