import { Box, Text } from 'ink';
import { useKeys } from '../components/useKeys.js';
import { useState } from 'react';
import type { BackupMetadata, VerificationCheck } from '@llm-analytics/core';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { KeyBar } from '../components/KeyBar.js';
import { handleRunningKeys, RunningFooter, useOperation } from '../components/operation.js';
import { ProgressView } from '../components/progress.js';
import type { TestRestoreOutcome, TuiDeps, VerifyReport } from '../deps.js';
import { shortId } from '../format.js';
import type { Nav, Size } from '../nav.js';
import { statusColor, useTheme } from '../theme.js';

/**
 * `v`: verify a backup, `t` to include a test restore; the check table fills in as the core
 * reports each row. Ctrl-C asks, then aborts: the core stops the scratch server and removes its
 * directory before the run ends as CANCELLED, and the screen says whether that worked.
 */
export function VerifyScreen({ deps, nav, size, backup }: { deps: TuiDeps; nav: Nav; size: Size; backup: BackupMetadata }) {
  const theme = useTheme();
  const { operation, progress, start, ask, cancel } = useOperation<VerifyReport>();
  const [checks, setChecks] = useState<VerificationCheck[]>([]);
  const [testRestore, setTestRestore] = useState(false);
  const verify = deps.verify;
  const scratch = deps.scratchDir ?? 'the temp directory';
  useKeys((input, key) => {
    if (handleRunningKeys(operation, input, key, { ask, cancel })) return;
    if (key.ctrl && input === 'c') return nav.quit();
    if (verify && operation.state === 'idle') {
      if (input === 't') return setTestRestore(!testRestore);
      if (key.return) return start((sink, signal) => verify({ backupId: backup.id, testRestore }, sink, signal, (check) => setChecks((done) => [...done, check])));
    }
    if (key.escape || key.return || input === 'q') {
      if (operation.state === 'done') nav.reload();
      return nav.back();
    }
  });
  const shown = operation.state === 'done' ? operation.result.checks : checks;
  const cleanUp = operation.state === 'done' ? operation.result.testRestore : operation.state === 'failed' ? testRestoreOf(operation.error) : undefined;
  return (
    <Box flexDirection="column">
      <Text bold color={theme.accent} wrap="truncate">
        Verify {backup.id}
      </Text>
      {!verify ? (
        <Text>Verification is not available in this build: the core verify engine is not wired into the TUI yet. Esc to go back.</Text>
      ) : operation.state === 'idle' ? (
        <Box flexDirection="column" marginTop={1}>
          <Text>Press Enter to verify backup {shortId(backup.id)} (read every stored byte, check checksums and the manifest), Esc to go back.</Text>
          <Text> </Text>
          <Text wrap="truncate">
            <Text bold>[{testRestore ? 'x' : ' '}] Test restore</Text> (t): {testRestore ? 'on' : 'off'}
          </Text>
          <Text color={theme.dim} wrap="truncate">
            {'    '}restore into a scratch directory under {scratch},
          </Text>
          <Text color={theme.dim} wrap="truncate">
            {'    '}start PostgreSQL, read every table, then remove it (also on Ctrl-C)
          </Text>
        </Box>
      ) : (
        <Box flexDirection="column">
          <Text wrap="truncate">{testRestore ? `with a test restore under ${scratch}` : 'without a test restore'}</Text>
          <ProgressView state={progress} width={size.columns} messageLines={testRestore ? 2 : 3} />
        </Box>
      )}
      {shown.length ? <Text bold>{'STATUS'.padEnd(7)}{'CHECK'.padEnd(24)}MESSAGE</Text> : null}
      {shown.slice(0, Math.max(1, size.rows - 12)).map((check) => (
        <Text key={check.name} wrap="truncate">
          <Text color={statusColor(theme, check.status)}>{check.status.padEnd(7)}</Text>
          {check.name.padEnd(24)}
          {check.message}
        </Text>
      ))}
      {operation.state === 'done' ? <Verdict report={operation.result} /> : null}
      {operation.state === 'failed' ? <ErrorPanel error={operation.error} /> : null}
      {cleanUp ? (
        <Text wrap="truncate" color={cleanUp.cleanedUp ? theme.dim : theme.bad} bold={!cleanUp.cleanedUp}>
          {cleanUp.cleanedUp ? `Scratch data directory removed: ${cleanUp.pgdata}` : `Scratch data directory NOT removed: ${cleanUp.pgdata}`}
        </Text>
      ) : null}
      <RunningFooter operation={operation} what="verification" />
      {operation.state !== 'running' ? (
        <KeyBar keys={[...(verify && operation.state === 'idle' ? ([['⏎', 'start'], ['t', `test restore ${testRestore ? 'on' : 'off'}`]] as const) : []), ['Esc', 'back']]} />
      ) : null}
    </Box>
  );
}

function Verdict({ report }: { report: VerifyReport }) {
  const theme = useTheme();
  // As the CLI's exit code: a failed row (invalid) outranks a check that could not be made.
  if (report.couldNotCheck && !report.checks.some((check) => check.status === 'fail')) {
    return (
      <Text bold color={theme.warn} wrap="truncate">
        Could not check everything [{report.couldNotCheck.code}]: {report.couldNotCheck.message}
      </Text>
    );
  }
  return (
    <Text bold color={report.valid ? theme.good : theme.bad}>
      {report.valid ? 'Backup is valid' : 'Backup is NOT valid'}
    </Text>
  );
}

/** A cancelled test restore carries its report: where the scratch data was and whether it is gone. */
function testRestoreOf(error: unknown): TestRestoreOutcome | undefined {
  const outcome = (error as { testRestore?: Partial<TestRestoreOutcome> } | null)?.testRestore;
  return outcome && typeof outcome.pgdata === 'string' && typeof outcome.cleanedUp === 'boolean' ? { pgdata: outcome.pgdata, cleanedUp: outcome.cleanedUp } : undefined;
}
