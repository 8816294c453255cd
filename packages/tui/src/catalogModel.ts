import type { BackupMetadata } from '@llm-analytics/core';

/** The orders `s` cycles through, first one the default: newest first, like list-backups. */
export const SORTS = [
  { key: 'newest', label: 'newest first' },
  { key: 'oldest', label: 'oldest first' },
  { key: 'size', label: 'largest first' },
  { key: 'database', label: 'database' },
  { key: 'status', label: 'status' },
] as const;
export type SortKey = (typeof SORTS)[number]['key'];

export function nextSort(current: SortKey): SortKey {
  const index = SORTS.findIndex((sort) => sort.key === current);
  return SORTS[(index + 1) % SORTS.length]!.key;
}

export function sortLabel(key: SortKey): string {
  return SORTS.find((sort) => sort.key === key)!.label;
}

// Plain code-unit comparison: ids, names and ISO times are ASCII, and localeCompare is ~10× slower on 5,000 rows.
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byTimeDesc = (a: BackupMetadata, b: BackupMetadata) => compare(b.startTime, a.startTime) || compare(b.id, a.id);

export function sortBackups(backups: readonly BackupMetadata[], key: SortKey): BackupMetadata[] {
  const sorted = [...backups];
  switch (key) {
    case 'newest':
      return sorted.sort(byTimeDesc);
    case 'oldest':
      return sorted.sort((a, b) => byTimeDesc(b, a));
    case 'size':
      return sorted.sort((a, b) => b.sizeBytes - a.sizeBytes || byTimeDesc(a, b));
    case 'database':
      return sorted.sort((a, b) => compare(a.database, b.database) || byTimeDesc(a, b));
    case 'status':
      return sorted.sort((a, b) => compare(a.status, b.status) || byTimeDesc(a, b));
  }
}

/**
 * The `/` filter: space-separated terms, all must match. `db:NAME`, `status:NAME` and `type:NAME`
 * match that field (prefix, any case); any other term matches anywhere in the id, database,
 * status or type.
 */
export function filterBackups(backups: readonly BackupMetadata[], query: string): BackupMetadata[] {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return [...backups];
  const matchers = terms.map((term) => {
    const [field, value] = term.includes(':') ? [term.slice(0, term.indexOf(':')), term.slice(term.indexOf(':') + 1)] : [undefined, term];
    return (backup: BackupMetadata) => {
      if (field === 'db' || field === 'database') return backup.database.toLowerCase().startsWith(value);
      if (field === 'status') return backup.status.toLowerCase().startsWith(value);
      if (field === 'type') return backup.type.toLowerCase().startsWith(value);
      return `${backup.id} ${backup.database} ${backup.status} ${backup.type}`.toLowerCase().includes(term);
    };
  });
  return backups.filter((backup) => matchers.every((matches) => matches(backup)));
}

/** The first row of the window that keeps the cursor visible, moving the window as little as possible. */
export function scrollOffset(previousOffset: number, cursor: number, visibleRows: number, total: number): number {
  const rows = Math.max(1, visibleRows);
  let offset = previousOffset;
  if (cursor < offset) offset = cursor;
  if (cursor >= offset + rows) offset = cursor - rows + 1;
  return Math.max(0, Math.min(offset, Math.max(0, total - rows)));
}

/** `:` jump: a row number (1-based) or text found in a backup id. Returns the row index or -1. */
export function jumpTarget(backups: readonly BackupMetadata[], text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const row = Number(trimmed) - 1;
    return row >= 0 && row < backups.length ? row : -1;
  }
  if (!trimmed) return -1;
  return backups.findIndex((backup) => backup.id.includes(trimmed));
}

export function verifiedLabel(backup: BackupMetadata): string {
  if (!backup.verification) return backup.status === 'Verified' ? 'yes' : '-';
  return backup.verification.valid ? 'yes' : 'FAIL';
}
