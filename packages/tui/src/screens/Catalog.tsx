import { Box, Text } from 'ink';
import { useKeys } from '../components/useKeys.js';
import { useMemo, useState } from 'react';
import { backupStats, type BackupMetadata } from '@llm-analytics/core';
import { filterBackups, jumpTarget, nextSort, scrollOffset, sortBackups, sortLabel, verifiedLabel, type SortKey } from '../catalogModel.js';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { KeyBar } from '../components/KeyBar.js';
import type { TuiDeps } from '../deps.js';
import { fit, formatAge, formatSize, shortId } from '../format.js';
import { typedText, usableRows, type Nav, type Size } from '../nav.js';
import { statusColor, useTheme } from '../theme.js';

export interface CatalogView {
  cursor: number;
  offset: number;
  sort: SortKey;
  filter: string;
}

type Catalog = { state: 'loading' } | { state: 'loaded'; backups: BackupMetadata[] } | { state: 'failed'; error: unknown };
type Mode = { name: 'browse' } | { name: 'filter' } | { name: 'jump'; text: string; missed?: string };

/** Lines around the table: title, statistics, filter/sort line, column header, key bar. */
const CHROME_LINES = 5;

export function CatalogScreen(props: { deps: TuiDeps; nav: Nav; size: Size; catalog: Catalog; view: CatalogView; onView(view: CatalogView): void }) {
  const { deps, nav, size, catalog, view, onView } = props;
  const theme = useTheme();
  const [mode, setMode] = useState<Mode>({ name: 'browse' });
  const all = catalog.state === 'loaded' ? catalog.backups : EMPTY;
  const sorted = useMemo(() => sortBackups(all, view.sort), [all, view.sort]);
  const shown = useMemo(() => filterBackups(sorted, view.filter), [sorted, view.filter]);
  const stats = useMemo(() => backupStats(all, deps.now?.() ?? new Date()), [all, deps]);
  const visibleRows = Math.max(1, usableRows(size) - CHROME_LINES);
  const cursor = Math.min(view.cursor, Math.max(0, shown.length - 1));
  const offset = scrollOffset(view.offset, cursor, visibleRows, shown.length);
  const moveTo = (row: number, patch: Partial<CatalogView> = {}) => {
    const target = Math.max(0, Math.min(row, shown.length - 1));
    onView({ ...view, ...patch, cursor: target, offset: scrollOffset(offset, target, visibleRows, shown.length) });
  };
  const selected = shown[cursor];

  useKeys((input, key) => {
    if (key.ctrl && input === 'c') return nav.quit();
    if (mode.name === 'filter') {
      if (key.escape) {
        setMode({ name: 'browse' });
        return onView({ ...view, filter: '', cursor: 0, offset: 0 });
      }
      if (key.return) return setMode({ name: 'browse' });
      if (key.backspace || key.delete) return onView({ ...view, filter: view.filter.slice(0, -1), cursor: 0, offset: 0 });
      return onView({ ...view, filter: view.filter + typedText(input), cursor: 0, offset: 0 });
    }
    if (mode.name === 'jump') {
      if (key.escape) return setMode({ name: 'browse' });
      if (key.return) {
        const row = jumpTarget(shown, mode.text);
        if (row < 0) return setMode({ name: 'jump', text: mode.text, missed: `no backup matches "${mode.text}"` });
        setMode({ name: 'browse' });
        return moveTo(row);
      }
      if (key.backspace || key.delete) return setMode({ name: 'jump', text: mode.text.slice(0, -1) });
      return setMode({ name: 'jump', text: mode.text + typedText(input) });
    }
    if (key.downArrow) return moveTo(cursor + 1);
    if (key.upArrow) return moveTo(cursor - 1);
    if (key.pageDown || (key.ctrl && input === 'f')) return moveTo(cursor + visibleRows);
    if (key.pageUp || (key.ctrl && input === 'b')) return moveTo(cursor - visibleRows);
    if (key.return) return selected && nav.push({ name: 'details', id: selected.id });
    if (key.escape) return view.filter && onView({ ...view, filter: '', cursor: 0, offset: 0 });
    if (key.ctrl || key.meta) return;
    // Keys typed quickly can arrive as one chunk ("jjj"): each is a keypress.
    let row = cursor;
    for (const char of input) {
      if (char === 'j') row += 1;
      else if (char === 'k') row -= 1;
      else if (char === 'g') row = 0;
      else if (char === 'G') row = shown.length - 1;
      else if (char === 'q') return nav.quit();
      else if (char === '?') return nav.push({ name: 'help' });
      else if (char === '/') return setMode({ name: 'filter' });
      else if (char === ':') return setMode({ name: 'jump', text: '' });
      else if (char === 's') return onView({ ...view, sort: nextSort(view.sort), cursor: 0, offset: 0 });
      else if (char === 'b') return nav.push({ name: 'backup' });
      else if (char === 'R') return nav.reload();
      else if (char === 'v' && selected) return nav.push({ name: 'verify', id: selected.id });
      else if (char === 'r' && selected) return nav.push({ name: 'restore', id: selected.id });
    }
    if (row !== cursor) moveTo(row);
  });

  const columns = layoutColumns(size.columns);
  const now = deps.now?.() ?? new Date();
  const header = `${fit('', 2)}${fit('ID', columns.id)} ${fit('DATABASE', columns.database)} ${fit('TYPE', 4)} ${fit('STATUS', 10)} ${fit('SIZE', 8, 'right')} ${fit('STORED', 8, 'right')} ${fit('AGE', 4, 'right')} ${fit('VERIF', 5)}`;
  const statusLine =
    mode.name === 'filter' ? `/${view.filter}█` : mode.name === 'jump' ? `:${mode.text}█${mode.missed ? `  (${mode.missed})` : ''}` : view.filter ? `filter: ${view.filter}  (Esc clears)` : '';

  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold color={theme.accent}>
          llm-analytics
        </Text>{' '}
        backups in {deps.repository}
      </Text>
      {catalog.state === 'failed' ? (
        <ErrorPanel error={catalog.error} footer="R retry · q quit" />
      ) : (
        <>
          <Text wrap="truncate" color={theme.dim}>
            {catalog.state === 'loading'
              ? 'Loading the catalog…'
              : `${stats.totalBackups} backups · ${formatSize(stats.totalSizeBytes)} (stored ${formatSize(stats.totalStoredSizeBytes)}) · full ${stats.fullBackups} / incr ${stats.incrementalBackups} / diff ${stats.differentialBackups} · newest ${stats.newestAgeDays ?? '-'}d, oldest ${stats.oldestAgeDays ?? '-'}d`}
          </Text>
          <Text wrap="truncate">
            {fit(statusLine, Math.max(0, size.columns - 32))}
            <Text color={theme.dim}>{fit(`${shown.length ? cursor + 1 : 0}/${shown.length} · ${sortLabel(view.sort)}`, 32, 'right')}</Text>
          </Text>
          <Text bold wrap="truncate">
            {header}
          </Text>
          {shown.slice(offset, offset + visibleRows).map((backup, index) => {
            const isSelected = offset + index === cursor;
            return (
              <Text key={backup.id} wrap="truncate" inverse={isSelected}>
                {isSelected ? '› ' : '  '}
                {fit(columns.id === ID_SHORT ? shortId(backup.id) : backup.id, columns.id)} {fit(backup.database, columns.database)} {fit(backup.type.slice(0, 4), 4)}{' '}
                <Text color={isSelected ? undefined : statusColor(theme, backup.status)}>{fit(backup.status, 10)}</Text> {fit(formatSize(backup.sizeBytes), 8, 'right')}{' '}
                {fit(formatSize(backup.storedSizeBytes), 8, 'right')} {fit(formatAge(backup.startTime, now), 4, 'right')} {fit(verifiedLabel(backup), 5)}
              </Text>
            );
          })}
          {catalog.state === 'loaded' && shown.length === 0 ? <Text>{all.length ? 'No backup matches the filter.' : 'No backups yet: press b to take one.'}</Text> : null}
          {Array.from({ length: padLines(visibleRows, shown.length - offset, catalog.state === 'loaded' && shown.length === 0) }, (_, index) => (
            <Text key={`pad-${index}`}> </Text>
          ))}
        </>
      )}
      <KeyBar keys={KEYS} />
    </Box>
  );
}

const EMPTY: BackupMetadata[] = [];

/** Blank lines that keep the key bar on the last line whatever the number of rows. */
function padLines(visibleRows: number, remainingRows: number, emptyMessage: boolean): number {
  return Math.max(0, visibleRows - Math.min(visibleRows, Math.max(0, remainingRows)) - (emptyMessage ? 1 : 0));
}
const ID_SHORT = 23;
const KEYS = [
  ['⏎', 'details'],
  ['/', 'filter'],
  ['s', 'sort'],
  ['v', 'verify'],
  ['r', 'restore'],
  ['b', 'backup'],
  ['?', 'help'],
  ['q', 'quit'],
] as const;

/** The id column shows the full id when there is room, else its time and suffix. */
function layoutColumns(width: number): { id: number; database: number } {
  const fixed = 2 + 1 + 4 + 1 + 10 + 1 + 8 + 1 + 8 + 1 + 4 + 1 + 5 + 1;
  const id = width - fixed - 44 >= 12 ? 44 : ID_SHORT;
  return { id, database: Math.max(6, width - fixed - id) };
}
