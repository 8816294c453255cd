import { Box, Text } from 'ink';
import { useKeys } from '../components/useKeys.js';
import type { BackupMetadata } from '@llm-analytics/core';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { KeyBar } from '../components/KeyBar.js';
import { handleRunningKeys, RunningFooter, useOperation } from '../components/operation.js';
import { ProgressView } from '../components/progress.js';
import type { TuiDeps } from '../deps.js';
import { formatDuration, formatSize } from '../format.js';
import type { Nav, Size } from '../nav.js';
import { useTheme } from '../theme.js';

/** `b`: a full backup of the configured database, with live progress. */
export function BackupScreen({ deps, nav, size }: { deps: TuiDeps; nav: Nav; size: Size }) {
  const theme = useTheme();
  const { operation, progress, start, ask, cancel } = useOperation<BackupMetadata>();
  useKeys((input, key) => {
    if (handleRunningKeys(operation, input, key, { ask, cancel })) return;
    if (key.ctrl && input === 'c') return nav.quit();
    if (operation.state === 'idle' && key.return) return start((sink, signal) => deps.backup(sink, signal));
    if (key.escape || key.return || input === 'q') {
      if (operation.state === 'done') nav.reload();
      return nav.back();
    }
  });
  return (
    <Box flexDirection="column">
      <Text bold color={theme.accent}>
        Backup of database {deps.database}
      </Text>
      <Text wrap="truncate">to {deps.repository}</Text>
      <Text> </Text>
      {operation.state === 'idle' ? <Text>Press Enter to start a full backup, Esc to go back.</Text> : null}
      {operation.state !== 'idle' ? <ProgressView state={progress} width={size.columns} messageLines={Math.max(2, size.rows - 12)} /> : null}
      {operation.state === 'done' ? (
        <Box flexDirection="column" marginTop={1}>
          <Text color={theme.good}>Backup {operation.result.id} {operation.result.status}</Text>
          <Text>
            {formatSize(operation.result.sizeBytes)} raw, {formatSize(operation.result.storedSizeBytes)} stored
            {operation.result.durationSeconds !== undefined ? ` in ${formatDuration(operation.result.durationSeconds)}` : ''}
          </Text>
        </Box>
      ) : null}
      {operation.state === 'failed' ? <ErrorPanel error={operation.error} /> : null}
      <RunningFooter operation={operation} what="backup" />
      {operation.state !== 'running' ? <KeyBar keys={operation.state === 'idle' ? [['⏎', 'start'], ['Esc', 'back']] : [['Esc', 'back to the catalog']]} /> : null}
    </Box>
  );
}
