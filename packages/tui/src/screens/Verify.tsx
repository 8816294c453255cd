import { Box, Text } from 'ink';
import { useKeys } from '../components/useKeys.js';
import { useState } from 'react';
import type { BackupMetadata, VerificationCheck } from '@llm-analytics/core';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { KeyBar } from '../components/KeyBar.js';
import { handleRunningKeys, RunningFooter, useOperation } from '../components/operation.js';
import { ProgressView } from '../components/progress.js';
import type { TuiDeps, VerifyReport } from '../deps.js';
import { shortId } from '../format.js';
import type { Nav, Size } from '../nav.js';
import { statusColor, useTheme } from '../theme.js';

/** `v`: verify a backup, the check table filling in as the checks finish. */
export function VerifyScreen({ deps, nav, size, backup }: { deps: TuiDeps; nav: Nav; size: Size; backup: BackupMetadata }) {
  const theme = useTheme();
  const { operation, progress, start, ask, cancel } = useOperation<VerifyReport>();
  const [checks, setChecks] = useState<VerificationCheck[]>([]);
  const verify = deps.verify;
  useKeys((input, key) => {
    if (handleRunningKeys(operation, input, key, { ask, cancel })) return;
    if (key.ctrl && input === 'c') return nav.quit();
    if (verify && operation.state === 'idle' && key.return) {
      return start((sink, signal) => verify(backup.id, sink, signal, (check) => setChecks((done) => [...done, check])));
    }
    if (key.escape || key.return || input === 'q') {
      if (operation.state === 'done') nav.reload();
      return nav.back();
    }
  });
  const shown = operation.state === 'done' ? operation.result.checks : checks;
  return (
    <Box flexDirection="column">
      <Text bold color={theme.accent} wrap="truncate">
        Verify {backup.id}
      </Text>
      <Text> </Text>
      {!verify ? (
        <Text>Verification is not available in this build: the core verify engine is not wired into the TUI yet. Esc to go back.</Text>
      ) : operation.state === 'idle' ? (
        <Text>Press Enter to verify backup {shortId(backup.id)} (read every stored byte, check checksums and the manifest), Esc to go back.</Text>
      ) : (
        <ProgressView state={progress} width={size.columns} messageLines={3} />
      )}
      {shown.length ? <Text bold>{'STATUS'.padEnd(7)}{'CHECK'.padEnd(24)}MESSAGE</Text> : null}
      {shown.slice(0, Math.max(1, size.rows - 12)).map((check) => (
        <Text key={check.name} wrap="truncate">
          <Text color={statusColor(theme, check.status)}>{check.status.padEnd(7)}</Text>
          {check.name.padEnd(24)}
          {check.message}
        </Text>
      ))}
      {operation.state === 'done' ? (
        <Text bold color={operation.result.valid ? theme.good : theme.bad}>
          {operation.result.valid ? 'Backup is valid' : 'Backup is NOT valid'}
        </Text>
      ) : null}
      {operation.state === 'failed' ? <ErrorPanel error={operation.error} /> : null}
      <RunningFooter operation={operation} what="verification" />
      {operation.state !== 'running' ? <KeyBar keys={[...(verify && operation.state === 'idle' ? ([['⏎', 'start']] as const) : []), ['Esc', 'back']]} /> : null}
    </Box>
  );
}
