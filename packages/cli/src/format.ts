/** Human formatting shared by every command's output. */

import { formatSize as formatSizeIn } from '@llm-analytics/core/units';

/** "2.00 GB" for 2147483648, as in the specification's tables (binary multiples). */
export function formatSize(bytes: number): string {
  return formatSizeIn(bytes, 'fixed');
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} seconds`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds % 60)} s`;
}

/** Width of a string on a terminal (ignores combining marks; our tables are ASCII + box drawing). */
function width(text: string): number {
  return [...text].length;
}

/** The specification's box table: ┌─┬─┐ │ a │ b │ ├─┼─┤ … └─┴─┘. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(width(header), ...rows.map((row) => width(row[column] ?? ''))));
  const line = (left: string, middle: string, right: string) => left + widths.map((w) => '─'.repeat(w + 2)).join(middle) + right;
  const row = (cells: readonly string[]) => `│${widths.map((w, i) => ` ${(cells[i] ?? '').padEnd(w + (cells[i] ?? '').length - width(cells[i] ?? ''))} `).join('│')}│`;
  return [line('┌', '┬', '┐'), row(headers), line('├', '┼', '┤'), ...rows.map(row), line('└', '┴', '┘')].join('\n');
}

export function renderProperties(rows: readonly (readonly [string, string])[]): string {
  return renderTable(['Property', 'Value'], rows);
}
