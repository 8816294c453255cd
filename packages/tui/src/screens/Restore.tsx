import { Box, Text } from 'ink';
import { useKeys } from '../components/useKeys.js';
import { useEffect, useState } from 'react';
import type { BackupMetadata, NamespaceRestorePlan, NamespaceRestoreResult, RestorePlan, RestoreResult } from '@llm-analytics/core';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { KeyBar } from '../components/KeyBar.js';
import { handleRunningKeys, RunningFooter, useOperation } from '../components/operation.js';
import { ProgressView } from '../components/progress.js';
import type { RestorableWindow, TuiDeps } from '../deps.js';
import { formatDuration, formatSize } from '../format.js';
import { typedText, type Nav, type Size } from '../nav.js';
import { confirmationMatches, formFields, formProblems, namespaceRestoreRequest, restoreRequest, type FieldName, type RestoreForm, type TextFieldName } from '../restoreForm.js';
import { useTheme } from '../theme.js';

/** A plan of either target: the core's dry run for a data directory, or for a new pod in a namespace. */
type Planned = { kind: 'directory'; plan: RestorePlan } | { kind: 'namespace'; plan: NamespaceRestorePlan };
type Step = { name: 'form' } | { name: 'planning' } | { name: 'plan'; planned: Planned } | { name: 'planFailed'; error: unknown } | { name: 'confirm'; planned: Planned; typed: string; wrong?: string } | { name: 'run' };
type WindowState = { state: 'unavailable' } | { state: 'loading' } | { state: 'loaded'; window: RestorableWindow | null };

const LABELS: Record<FieldName, string> = { target: 'Target', pgdata: 'Data directory', namespace: 'Namespace', port: 'Port', database: 'Database name', pitr: 'Recover to time' };
const TARGETS = [
  ['directory', 'data directory + port'],
  ['namespace', 'Kubernetes namespace (new pod)'],
] as const;

/**
 * `r`: the restore wizard. Target (a data directory + port, or — started with Kubernetes options —
 * a new pod in a namespace), database name and an optional PITR time (checked against the
 * restorable window as it is typed), then the dry-run plan, then a confirmation typed by hand;
 * only then does anything run.
 */
export function RestoreWizard({ deps, nav, size, backup }: { deps: TuiDeps; nav: Nav; size: Size; backup: BackupMetadata }) {
  const theme = useTheme();
  const [form, setForm] = useState<RestoreForm>({ target: 'directory', pgdata: '', namespace: '', port: '5433', database: backup.database, pitr: '' });
  const [field, setField] = useState(0);
  const [step, setStep] = useState<Step>({ name: 'form' });
  const [window, setWindow] = useState<WindowState>(deps.restorableWindow ? { state: 'loading' } : { state: 'unavailable' });
  const { operation, progress, start, ask, cancel } = useOperation<RestoreResult | NamespaceRestoreResult>();
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
  const fieldNames = formFields(form, { namespace: deps.kubernetes !== undefined, pitr: window.state !== 'unavailable' });
  const current = fieldNames[Math.min(field, fieldNames.length - 1)]!;
  const kubernetes = deps.kubernetes;
  const plan = (): Promise<Planned> =>
    form.target === 'namespace' && kubernetes
      ? kubernetes.planRestore(namespaceRestoreRequest(form, backup, pitrWindow)).then((found) => ({ kind: 'namespace', plan: found }))
      : deps.planRestore(restoreRequest(form, backup, pitrWindow)).then((found) => ({ kind: 'directory', plan: found }));

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
        plan().then(
          (planned) => setStep({ name: 'plan', planned }),
          (error: unknown) => setStep({ name: 'planFailed', error }),
        );
        return;
      }
      if (current === 'target') {
        if (key.leftArrow || key.rightArrow || input === ' ') return setForm({ ...form, target: form.target === 'directory' ? 'namespace' : 'directory' });
        return;
      }
      if (key.backspace || key.delete) return setForm({ ...form, [current]: form[current].slice(0, -1) });
      if (key.ctrl && input === 'u') return setForm({ ...form, [current]: '' });
      if (key.ctrl || key.meta) return;
      return setForm({ ...form, [current]: form[current] + typedText(input) });
    }
    if (step.name === 'plan') {
      if (key.escape) return setStep({ name: 'form' });
      if (key.return) return setStep({ name: 'confirm', planned: step.planned, typed: '' });
      return;
    }
    if (step.name === 'planFailed') {
      if (key.escape || key.return) return setStep({ name: 'form' });
      return;
    }
    if (step.name === 'confirm') {
      if (key.escape) return setStep({ name: 'plan', planned: step.planned });
      if (key.return) {
        if (!confirmationMatches(step.typed, backup)) return setStep({ ...step, typed: '', wrong: 'That is not the backup id or database name: nothing was done. Type it again or Esc.' });
        setStep({ name: 'run' });
        if (step.planned.kind === 'namespace' && kubernetes) {
          const request = namespaceRestoreRequest(form, backup, pitrWindow);
          return start((sink, signal) => kubernetes.restore(request, sink, signal));
        }
        const request = restoreRequest(form, backup, pitrWindow);
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
          <Text color={theme.dim}>Step 1 of 3 · where to restore (↑↓ move{kubernetes ? ', ←→ choose' : ''}, ⏎ next)</Text>
          {kubernetes ? null : (
            <Text color={theme.dim} wrap="truncate">
              {'  '}Kubernetes namespace target: not available (start the TUI with -n NS or --pod)
            </Text>
          )}
          {fieldNames.map((name, index) => {
            const active = index === field && step.name === 'form';
            if (name === 'target') return <TargetRow key={name} active={active} target={form.target} />;
            return (
              <Box key={name} flexDirection="column">
                <Text wrap="truncate">
                  {active ? '› ' : '  '}
                  <Text bold>{(name === 'port' && form.target === 'namespace' ? 'Local port' : LABELS[name]).padEnd(16)}</Text> {form[name]}
                  {active ? '█' : ''}
                  {name === 'pitr' && !form.pitr ? <Text color={theme.dim}> (empty: end of the backup)</Text> : null}
                  {name === 'database' && form.database === backup.database ? <Text color={theme.dim}> (as backed up)</Text> : null}
                  {name === 'namespace' && !problems.namespace ? <Text color={theme.dim}> (created when absent)</Text> : null}
                  {name === 'port' && form.target === 'namespace' ? <Text color={theme.dim}> (for kubectl port-forward)</Text> : null}
                </Text>
                {problems[name] && (active || form[name as TextFieldName]) ? (
                  <Text color={theme.bad} wrap="truncate">
                    {'    '}
                    {problems[name]}
                  </Text>
                ) : null}
              </Box>
            );
          })}
          {kubernetes && form.target === 'namespace' ? (
            <Text color={theme.dim} wrap="truncate">
              {'  '}A new pod from the image of {kubernetes.sourcePod}
            </Text>
          ) : null}
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
      {(step.name === 'plan' || step.name === 'confirm') && step.planned.kind === 'directory' ? <PlanView plan={step.planned.plan} request={restoreRequest(form, backup, pitrWindow)} /> : null}
      {(step.name === 'plan' || step.name === 'confirm') && step.planned.kind === 'namespace' ? <NamespacePlanView plan={step.planned.plan} /> : null}
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

/** The target choice: both options on one line, the chosen one marked (←→ or space switches). */
function TargetRow({ active, target }: { active: boolean; target: RestoreForm['target'] }) {
  const theme = useTheme();
  return (
    <Text wrap="truncate">
      {active ? '› ' : '  '}
      <Text bold>{LABELS.target.padEnd(16)}</Text>
      {TARGETS.map(([kind, label]) => (
        <Text key={kind} color={kind === target ? undefined : theme.dim} bold={kind === target}>
          {' '}
          {kind === target ? '●' : '○'} {label}
        </Text>
      ))}
    </Text>
  );
}

function Rows({ rows }: { rows: readonly (readonly [string, string])[] }) {
  return (
    <>
      {rows.map(([name, value], index) => (
        <Text key={`${name}-${index}`} wrap="truncate">
          <Text bold>{name.padEnd(12)}</Text> {value}
        </Text>
      ))}
    </>
  );
}

/** What a namespace restore will create, and how to reach the restored server afterwards. */
function NamespacePlanView({ plan }: { plan: NamespaceRestorePlan }) {
  const theme = useTheme();
  const namespaceState = plan.namespaceExists === false ? 'created: it does not exist yet' : plan.namespaceExists ? 'exists' : 'taken as existing: may not read namespaces';
  const rows: [string, string][] = [
    ['Backup', plan.baseBackupId !== plan.backupId ? `${plan.backupId} (from full ${plan.baseBackupId})` : plan.backupId],
    ['Ends at', plan.backupEndTime ?? '-'],
    ['Recover to', plan.recoverTo],
    ['From', plan.repository],
    ['Namespace', `${plan.namespace} (${namespaceState})`],
    ['Pod, claim', `llm-analytics-restore-<id>; claim ${plan.claim.request}${plan.claim.storageClassName ? `, class ${plan.claim.storageClassName}` : ''}`],
    ['Copied from', `${plan.sourcePod}: image, env, resources`],
    ['Image', plan.image],
    ['Then', `restore ${formatSize(plan.sizeBytes)}, start PostgreSQL on port ${plan.port}${plan.validate ? ', validate' : ''}; pod kept`],
    ['Database', plan.targetDatabase ? `${plan.database} renamed to ${plan.targetDatabase}` : plan.database],
  ];
  return (
    <Box flexDirection="column">
      <Text color={theme.dim}>Step 2 of 3 · dry-run plan (nothing has changed yet)</Text>
      <Rows rows={rows} />
      {/* Commands to copy: wrapped, never cut. */}
      <Text wrap="wrap">
        <Text bold>{'Connect'.padEnd(12)}</Text> {plan.connect.portForward}
      </Text>
      <Text wrap="wrap">
        {''.padEnd(12)} {plan.connect.psql}
      </Text>
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
      <Rows rows={rows} />
      {plan.movedAsideTo ? <Text color={theme.warn}>The existing contents move to {plan.movedAsideTo} (kept).</Text> : null}
    </Box>
  );
}

function ResultView({ result }: { result: RestoreResult | NamespaceRestoreResult }) {
  const theme = useTheme();
  const validation = result.validation;
  const pod = 'connect' in result ? result : undefined;
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold color={result.success ? theme.good : theme.bad} wrap={pod ? 'wrap' : 'truncate'}>
        {result.success ? 'Restore completed' : 'Restore FAILED'} in {formatDuration(result.durationSeconds)}: {pod ? `pod ${pod.namespace}/${pod.pod}` : result.pgdata}
        {result.port && !pod ? `, port ${result.port}` : ''}
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
      {pod ? (
        <Box flexDirection="column">
          <Text wrap="wrap">
            {pod.createdNamespace ? `Namespace ${pod.namespace} created; ` : ''}the pod and its claim {pod.persistentVolumeClaim} stay. Connect with:
          </Text>
          <Text wrap="wrap">{pod.connect.portForward}</Text>
          <Text wrap="wrap">{pod.connect.psql}</Text>
        </Box>
      ) : null}
    </Box>
  );
}
