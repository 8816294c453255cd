import { Box, Text } from 'ink';
import { useKeys } from '../components/useKeys.js';
import { useEffect, useState, type ReactNode } from 'react';
import type { BackupMetadata } from '@llm-analytics/core';
import { KeyBar } from '../components/KeyBar.js';
import type { RestorableWindow, TuiDeps } from '../deps.js';
import { formatDuration, formatSize } from '../format.js';
import { usableRows, type Nav, type Size } from '../nav.js';
import { statusColor, useTheme, type Theme } from '../theme.js';

type WindowState = { state: 'unavailable' } | { state: 'loading' } | { state: 'loaded'; window: RestorableWindow | null } | { state: 'failed'; message: string };

/** Everything known about one backup, scrollable with j/k when it does not fit. */
export function DetailsScreen({ deps, nav, size, backup, backups }: { deps: TuiDeps; nav: Nav; size: Size; backup: BackupMetadata; backups: readonly BackupMetadata[] }) {
  const theme = useTheme();
  const [scroll, setScroll] = useState(0);
  const [window, setWindow] = useState<WindowState>(deps.restorableWindow ? { state: 'loading' } : { state: 'unavailable' });
  useEffect(() => {
    if (!deps.restorableWindow) return;
    let live = true;
    deps.restorableWindow(backup).then(
      (found) => live && setWindow({ state: 'loaded', window: found }),
      (error: unknown) => live && setWindow({ state: 'failed', message: error instanceof Error ? error.message : String(error) }),
    );
    return () => {
      live = false;
    };
  }, [deps, backup]);

  const lines = detailLines(backup, backups, window, theme, size.columns);
  const visible = Math.max(1, usableRows(size) - 2);
  const maxScroll = Math.max(0, lines.length - visible);
  useKeys((input, key) => {
    if (key.ctrl && input === 'c') return nav.quit();
    if (key.escape) return nav.back();
    if (input === 'q') return nav.quit();
    if (input === '?') return nav.push({ name: 'help' });
    if (input === 'j' || key.downArrow) return setScroll(Math.min(maxScroll, scroll + 1));
    if (input === 'k' || key.upArrow) return setScroll(Math.max(0, scroll - 1));
    if (key.pageDown || input === ' ') return setScroll(Math.min(maxScroll, scroll + visible));
    if (key.pageUp) return setScroll(Math.max(0, scroll - visible));
    if (input === 'v') return nav.push({ name: 'verify', id: backup.id });
    if (input === 'r') return nav.push({ name: 'restore', id: backup.id });
  });
  const shown = lines.slice(scroll, scroll + visible);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate" color={theme.accent}>
        {backup.id}
      </Text>
      {shown.map((line, index) => (
        <Box key={scroll + index}>{line}</Box>
      ))}
      {Array.from({ length: Math.max(0, visible - shown.length) }, (_, index) => (
        <Text key={`pad-${index}`}> </Text>
      ))}
      <KeyBar keys={[['Esc', 'back'], ['j/k', `scroll ${maxScroll ? `${scroll}/${maxScroll}` : ''}`.trim()], ['v', 'verify'], ['r', 'restore'], ['q', 'quit']]} />
    </Box>
  );
}

function property(name: string, value: ReactNode): ReactNode {
  return (
    <Text wrap="truncate">
      <Text bold>{name.padEnd(18)}</Text> {value}
    </Text>
  );
}

function section(title: string, theme: Theme): ReactNode {
  return (
    <Text bold color={theme.accent}>
      {title}
    </Text>
  );
}

function detailLines(backup: BackupMetadata, backups: readonly BackupMetadata[], window: WindowState, theme: Theme, columns: number): ReactNode[] {
  const lines: ReactNode[] = [
    property('Database', backup.database),
    property('Type / status', <Text>{backup.type} · <Text color={statusColor(theme, backup.status)}>{backup.status}</Text></Text>),
    property('Started', backup.startTime),
    property('Ended', `${backup.endTime ?? '-'}${backup.durationSeconds !== undefined ? ` (${formatDuration(backup.durationSeconds)})` : ''}`),
    property('LSN start → end', `${backup.startLsn ?? '-'} → ${backup.endLsn ?? '-'}  timeline ${backup.timeline ?? '-'}`),
    property('WAL segments', `${backup.startWalSegment ?? '-'} … ${backup.endWalSegment ?? '-'}`),
    property('PostgreSQL', `${backup.postgresVersion ?? '-'}  TimescaleDB ${backup.timescaledbVersion ?? 'none'}`),
    property('System id', backup.systemIdentifier ?? '-'),
    property('Source', backup.source ?? '-'),
    property('Repository', backup.location),
    property('Size', `${formatSize(backup.sizeBytes)} raw, ${formatSize(backup.storedSizeBytes)} stored`),
    property('Compression', backup.compression),
    property('Encryption', `${backup.encrypted ? 'AES-256-GCM (client side)' : 'none'}${backup.serverSideEncryption ? `, server side ${backup.serverSideEncryption}` : ''}`),
    property('SHA-256', backup.sha256 ?? '-'),
    property('Source tables', `${backup.tableCount ?? '-'}  hypertables ${backup.hypertableCount ?? '-'}  size ${backup.databaseSizeBytes !== undefined ? formatSize(backup.databaseSizeBytes) : '-'}`),
    property('Retention', `${backup.retentionDays} days`),
  ];
  if (backup.error) lines.push(property('Error', <Text color={theme.bad}>[{backup.error.code}] {backup.error.message}</Text>));

  lines.push(<Text> </Text>, section('Chain', theme));
  const children = backups.filter((other) => other.parentId === backup.id);
  if (!backup.parentId && children.length === 0) lines.push(<Text>  full backup, no incrementals depend on it</Text>);
  if (backup.parentId) lines.push(<Text wrap="truncate">  parent  {backup.parentId}</Text>);
  for (const child of children) lines.push(<Text wrap="truncate">  child   {child.id} ({child.type})</Text>);

  lines.push(<Text> </Text>, section('Restorable window (PITR)', theme));
  if (window.state === 'unavailable') lines.push(<Text>  not available in this build (no WAL archive reader wired in)</Text>);
  else if (window.state === 'loading') lines.push(<Text>  reading the WAL archive…</Text>);
  else if (window.state === 'failed') lines.push(<Text color={theme.bad}>  {window.message}</Text>);
  else if (!window.window) lines.push(<Text>  no archived WAL after this backup: restore to its end only</Text>);
  else lines.push(...timeLine(window.window, backup, Math.max(20, columns - 4), theme));

  lines.push(<Text> </Text>, section('Last verification', theme));
  if (!backup.verification) lines.push(<Text>  never verified (press v)</Text>);
  else {
    const verification = backup.verification;
    lines.push(<Text>  {verification.time}: <Text color={verification.valid ? theme.good : theme.bad}>{verification.valid ? 'valid' : 'INVALID'}</Text></Text>);
    for (const check of verification.checks) {
      lines.push(
        <Text wrap="truncate">
          {'  '}
          <Text color={statusColor(theme, check.status)}>{check.status.padEnd(5)}</Text> {check.name.padEnd(22)} {check.message}
        </Text>,
      );
    }
  }
  return lines;
}

/** The window as a bar from the backup's end to the last archived WAL, with its ends labelled. */
function timeLine(window: RestorableWindow, backup: BackupMetadata, width: number, theme: Theme): ReactNode[] {
  const bar = Math.max(10, Math.min(60, width - 2));
  return [
    <Text wrap="truncate">
      {'  '}
      <Text color={theme.good}>{'├' + '━'.repeat(bar - 2) + '┤'}</Text>
    </Text>,
    <Text wrap="truncate">
      {'  '}
      {window.from.padEnd(Math.max(window.from.length + 1, bar - window.to.length))}
      {window.to}
    </Text>,
    <Text wrap="truncate">
      {'  '}backup end {backup.endTime ?? backup.startTime}
      {window.walSegments !== undefined ? ` · ${window.walSegments} WAL segments archived` : ''}
    </Text>,
  ];
}
