/** Human units shared by every frontend, so the CLI, the TUI and the API say sizes the same way. */

const SIZE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/**
 * Binary multiples with the specification's unit names: "2.00 GB" for 2147483648 ('fixed', two
 * decimals, as in the specification's tables), or "2.0 GB" / "512 MB" ('compact', three
 * significant digits at most, for narrow table columns).
 */
export function formatSize(bytes: number, style: 'fixed' | 'compact' = 'fixed'): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${bytes} B`;
  const digits = style === 'fixed' ? 2 : value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${SIZE_UNITS[unit]}`;
}
