import { Box, Text } from 'ink';
import { useKeys } from '../components/useKeys.js';
import { useEffect, useState } from 'react';
import type { BackupMetadata, RestorePlan, RestoreResult } from '@llm-analytics/core';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { KeyBar } from '../components/KeyBar.js';
import { handleRunningKeys, RunningFooter, useOperation } from '../components/operation.js';
import { ProgressView } from '../components/progress.js';
import type { RestorableWindow, TuiDeps } from '../deps.js';
import { formatDuration, formatSize } from '../format.js';
import { typedText, type Nav, type Size } from '../nav.js';
import { confirmationMatches, FIELDS, formProblems, restoreRequest, type FieldName, type RestoreForm } from '../restoreForm.js';
import { useTheme } from '../theme.js';

type Step = { name: 'form' } | { name: 'planning' } | { name: 'plan'; plan: RestorePlan } | { name: 'planFailed'; error: unknown } | { name: 'confirm'; plan: RestorePlan; typed: string; wrong?: string } | { name: 'run' };
type WindowState = { state: 'unavailable' } | { state: 'loading' } | { state: 'loaded'; window: RestorableWindow | null };

const LABELS: Record<FieldName, string> = { pgdata: 'Data directory', port: 'Port', database: 'Database name', pitr: 'Recover to time' };

/**
 * `r`: the restore wizard. Target, database name and an optional PITR time (checked against the
 * restorable window as it is typed), then the dry-run plan, then a confirmation typed by hand;
 * only then does anything run.
 */
export function RestoreWizard({ deps, nav, size, backup }: { deps: TuiDeps; nav: Nav; size: Size; backup: BackupMetadata }) {
  const theme = useTheme();
  const [form, setForm] = useState<RestoreForm>({ pgdata: '', port: '5433', database: backup.database, pitr: '' });
  const [field, setField] = useState(0);
  const [step, setStep] = useState<Step>({ name: 'form' });
  const [window, setWindow] = useState<WindowState>(deps.restorableWindow ? { state: 'loading' } : { state: 'unavailable' });
  const { operation, progress, start, ask, cancel } = useOperation<RestoreResult>();
  useEffect(() => {
    let live = true;
    deps.restorableWindow?.(backup).then(
      (found) => live && setWindow({ state: 'loaded', window: found }),
      () => live && setWindow({ state: 'loaded', window: null }),
    );
    return () => {
      live = false;
    };
  }, [deps, backup]);
  const pitrWindow = window.state === 'loaded' ? window.window : null;
  const problems = formProblems(form, pitrWindow);
  const fieldNames = FIELDS.filter((name) => name !== 'pitr' || window.state !== 'unavailable');
  const current = fieldNames[Math.min(field, fieldNames.length - 1)]!;

  useKeys((input, key) => {
    if (step.name === 'run') {
      if (handleRunningKeys(operation, input, key, { ask, cancel })) return;
      if (key.ctrl && input === 'c') return nav.quit();
      if (key.escape || key.return || input === 'q') {
        nav.reload();
        return nav.back();
      }
      return;
    }
    if (key.ctrl && input === 'c') return nav.quit();
    if (step.name === 'form') {
      if (key.escape) return nav.back();
      if (key.upArrow || (key.shift && key.tab)) return setField(Math.max(0, field - 1));
      if (key.downArrow || key.tab) return setField(Math.min(fieldNames.length - 1, field + 1));
      if (key.return) {
        if (problems[current]) return;
        if (field < fieldNames.length - 1) return setField(field + 1);
        if (Object.keys(problems).length) return setField(fieldNames.findIndex((name) => problems[name]));
        setStep({ name: 'planning' });
        deps.planRestore(restoreRequest(form, backup, pitrWindow)).then(
          (plan) => setStep({ name: 'plan', plan }),
          (error: unknown) => setStep({ name: 'planFailed', error }),
        );
        return;
      }
      if (key.backspace || key.delete) return setForm({ ...form, [current]: form[current].slice(0, -1) });
      if (key.ctrl && input === 'u') return setForm({ ...form, [current]: '' });
      if (key.ctrl || key.meta) return;
      return setForm({ ...form, [current]: form[current] + typedText(input) });
    }
    if (step.name === 'plan') {
      if (key.escape) return setStep({ name: 'form' });
      if (key.return) return setStep({ name: 'confirm', plan: step.plan, typed: '' });
      return;
    }
    if (step.name === 'planFailed') {
      if (key.escape || key.return) return setStep({ name: 'form' });
      return;
    }
    if (step.name === 'confirm') {
      if (key.escape) return setStep({ name: 'plan', plan: step.plan });
      if (key.return) {
        if (!confirmationMatches(step.typed, backup)) return setStep({ ...step, typed: '', wrong: 'That is not the backup id or database name: nothing was done. Type it again or Esc.' });
        const request = restoreRequest(form, backup, pitrWindow);
        setStep({ name: 'run' });
        return start((sink, signal) => deps.restore(request, sink, signal));
      }
      if (key.backspace || key.delete) return setStep({ ...step, typed: step.typed.slice(0, -1) });
      if (key.ctrl || key.meta) return;
      return setStep({ ...step, typed: step.typed + typedText(input), wrong: undefined });
    }
  });

  return (
    <Box flexDirection="column">
      <Text bold color={theme.accent} wrap="truncate">
        Restore {backup.id}
      </Text>
      {step.name === 'form' || step.name === 'planning' ? (
        <Box flexDirection="column">
          <Text color={theme.dim}>Step 1 of 3 · where to restore (↑↓ move, ⏎ next)</Text>
          {fieldNames.map((name, index) => {
            const active = index === field && step.name === 'form';
            return (
              <Box key={name} flexDirection="column">
                <Text wrap="truncate">
                  {active ? '› ' : '  '}
                  <Text bold>{LABELS[name].padEnd(16)}</Text> {form[name]}
                  {active ? '█' : ''}
                  {name === 'pitr' && !form.pitr ? <Text color={theme.dim}> (empty: end of the backup)</Text> : null}
                  {name === 'database' && form.database === backup.database ? <Text color={theme.dim}> (as backed up)</Text> : null}
                </Text>
                {problems[name] && (active || form[name]) ? (
                  <Text color={theme.bad} wrap="truncate">
                    {'    '}
                    {problems[name]}
                  </Text>
                ) : null}
              </Box>
            );
          })}
          <Text color={theme.dim} wrap="truncate">
            {window.state === 'unavailable'
              ? '  Point-in-time restore: not available in this build (restores to the end of the backup).'
              : window.state === 'loading'
                ? '  Reading the restorable window…'
                : window.window
                  ? `  Restorable window: ${window.window.from} → ${window.window.to}`
                  : '  No archived WAL after this backup: restores to its end.'}
          </Text>
          {step.name === 'planning' ? <Text>Planning…</Text> : null}
          <KeyBar keys={[['⏎', 'next'], ['↑↓', 'field'], ['Ctrl-U', 'clear'], ['Esc', 'cancel']]} />
        </Box>
      ) : null}
      {step.name === 'planFailed' ? <ErrorPanel error={step.error} footer="⏎/Esc back to the form" /> : null}
      {step.name === 'plan' || step.name === 'confirm' ? <PlanView plan={step.plan} request={restoreRequest(form, backup, pitrWindow)} /> : null}
      {step.name === 'plan' ? <KeyBar keys={[['⏎', 'continue to confirmation'], ['Esc', 'edit']]} /> : null}
      {step.name === 'confirm' ? (
        <Box flexDirection="column">
          <Text color={theme.dim}>Step 3 of 3 · confirm</Text>
          <Text wrap="wrap">Type the backup id (or the database name {backup.database}) and press Enter to restore:</Text>
          <Text wrap="truncate">
            {'> '}
            {step.typed}█
          </Text>
          {step.wrong ? <Text color={theme.bad}>{step.wrong}</Text> : null}
          <KeyBar keys={[['⏎', 'restore'], ['Esc', 'back to the plan']]} />
        </Box>
      ) : null}
      {step.name === 'run' ? (
        <Box flexDirection="column">
          <ProgressView state={progress} width={size.columns} messageLines={operation.state === 'done' ? 3 : Math.max(3, size.rows - 8)} />
          {operation.state === 'done' ? <ResultView result={operation.result} /> : null}
          {operation.state === 'failed' ? <ErrorPanel error={operation.error} /> : null}
          <RunningFooter operation={operation} what="restore" />
          {operation.state !== 'running' ? <KeyBar keys={[['Esc', 'back to the catalog']]} /> : null}
        </Box>
      ) : null}
    </Box>
  );
}

function PlanView({ plan, request }: { plan: RestorePlan; request: ReturnType<typeof restoreRequest> }) {
  const theme = useTheme();
  const rows: [string, string][] = [
    ['Backup', plan.baseBackupId && plan.baseBackupId !== plan.backupId ? `${plan.backupId} (from full ${plan.baseBackupId})` : plan.backupId],
    ['Ends at', plan.backupEndTime ?? '-'],
    ['Recover to', plan.recoverTo ?? request.pitrTarget ?? 'end of the backup'],
    ['From', plan.repository],
    ['Into', `${plan.pgdata} (${plan.targetState}) on ${plan.targetHost}`],
    ['Then', plan.start ? `start PostgreSQL on port ${plan.port}${plan.validate ? ', validate' : ''}` : 'leave it stopped'],
    ['Database', plan.targetDatabase ? `${plan.database} renamed to ${plan.targetDatabase}` : plan.database],
    ['Size', formatSize(plan.sizeBytes)],
  ];
  return (
    <Box flexDirection="column">
      <Text color={theme.dim}>Step 2 of 3 · dry-run plan (nothing has changed yet)</Text>
      {rows.map(([name, value]) => (
        <Text key={name} wrap="truncate">
          <Text bold>{name.padEnd(12)}</Text> {value}
        </Text>
      ))}
      {plan.movedAsideTo ? <Text color={theme.warn}>The existing contents move to {plan.movedAsideTo} (kept).</Text> : null}
    </Box>
  );
}

function ResultView({ result }: { result: RestoreResult }) {
  const theme = useTheme();
  const validation = result.validation;
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold color={result.success ? theme.good : theme.bad}>
        {result.success ? 'Restore completed' : 'Restore FAILED'} in {formatDuration(result.durationSeconds)}: {result.pgdata}
        {result.port ? `, port ${result.port}` : ''}
      </Text>
      {validation ? (
        <Box flexDirection="column">
          <Text bold>{'CHECK'.padEnd(16)}{'RESTORED'.padEnd(14)}EXPECTED</Text>
          <Text>
            {'tables'.padEnd(16)}
            {String(validation.tableCount).padEnd(14)}
            {validation.expectedTableCount ?? '-'}
          </Text>
          <Text>
            {'database size'.padEnd(16)}
            {formatSize(validation.databaseSizeBytes).padEnd(14)}
            {validation.expectedDatabaseSizeBytes !== undefined ? formatSize(validation.expectedDatabaseSizeBytes) : '-'}
          </Text>
          <Text>
            {'hypertables'.padEnd(16)}
            {String(validation.hypertableCount ?? '-').padEnd(14)}-
          </Text>
          <Text color={validation.valid ? theme.good : theme.bad}>{validation.valid ? 'valid' : validation.problems.join('; ')}</Text>
        </Box>
      ) : (
        <Text>Not validated.</Text>
      )}
    </Box>
  );
}
