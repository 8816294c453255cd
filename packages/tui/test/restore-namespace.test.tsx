import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { BackupError } from '@llm-analytics/core';
import { App } from '../src/App.js';
import type { NamespaceRestoreDeps, TuiDeps } from '../src/deps.js';
import { fakeDeps, fakeKubernetes, frameWhere, frameWith, KEY, makeCatalog, namespaceResult, press, settle } from './fixtures.js';

const size = { columns: 80, rows: 24 };
/** A frame's text with wrapped lines and panel borders joined, for sentences that may wrap at 80 columns. */
const flat = (frame: string) => frame.replace(/[│╭╮╰╯─]/g, ' ').replace(/\s+/g, ' ');
let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

/** The wizard on the second-newest backup; `kubernetes` stands for a TUI started with -n/--pod. */
async function openWizard(kubernetes?: NamespaceRestoreDeps, overrides: Partial<TuiDeps> = {}) {
  const backups = makeCatalog(5);
  const { deps, calls } = fakeDeps(backups, { kubernetes, ...overrides });
  const app = render(<App deps={deps} size={size} />);
  cleanup = app.unmount;
  await frameWhere(app.lastFrame, (f) => f.includes('5 backups'));
  await press(app.stdin, 'j', 'r');
  await frameWhere(app.lastFrame, (f) => f.includes('Step 1 of 3'));
  return { ...app, calls, backup: backups[1]! };
}

/** Chooses the namespace target (→), types the namespace and the local port, keeps the database name. */
async function fillNamespaceForm(stdin: { write(data: string): void }, namespace: string, localPort = '15432') {
  await press(stdin, KEY.right, KEY.enter, namespace, KEY.enter, KEY.ctrlU, localPort, KEY.enter, KEY.enter);
}

describe('restore wizard: Kubernetes namespace target', () => {
  it('is not offered without Kubernetes options: shown disabled with the reason, and the form starts at the data directory', async () => {
    const { lastFrame, stdin } = await openWizard();
    const frame = await frameWith(lastFrame, 'Kubernetes namespace target: not available (start the TUI with -n NS or --pod)');
    expect(frame).not.toContain('● data directory');
    await press(stdin, KEY.right, '/srv/pg/x');
    expect(await frameWith(lastFrame, '/srv/pg/x█')).toMatch(/› Data directory\s+\/srv\/pg\/x█/);
  });

  it('is offered with Kubernetes options: ←→ switches the target and the namespace field replaces the data directory', async () => {
    const { kubernetes } = fakeKubernetes();
    const { lastFrame, stdin } = await openWizard(kubernetes);
    expect(await frameWith(lastFrame, '● data directory + port')).toMatch(/› Target\s+● data directory \+ port\s+○ Kubernetes namespace \(new pod\)/);
    await press(stdin, KEY.right);
    const frame = await frameWith(lastFrame, '● Kubernetes namespace (new pod)');
    expect(frame).toContain('Namespace');
    expect(frame).toMatch(/Local port\s+5433 \(for kubectl port-forward\)/);
    expect(frame).toContain('A new pod from the image of pod llm-analytics-hub/timescaledb-0');
    expect(frame).not.toContain('Data directory');
    expect(frame).not.toContain('Kubernetes namespace target: not available');
  });

  it('refuses an invalid namespace as it is typed, and plans and runs nothing', async () => {
    const { kubernetes, calls } = fakeKubernetes();
    const { lastFrame, stdin, calls: localCalls } = await openWizard(kubernetes);
    await press(stdin, KEY.right, KEY.enter, 'Staging_NS');
    await frameWith(lastFrame, 'Lowercase letters, digits and -, starting and ending with a letter or digit.');
    await press(stdin, KEY.enter, KEY.enter, KEY.enter, KEY.enter);
    await settle(100);
    expect(lastFrame()).not.toContain('dry-run plan');
    expect(calls).toEqual({ plan: [], restore: [] });
    expect(localCalls.plan).toHaveLength(0);
    // Fixed by hand, the problem goes as soon as the name is a DNS-1123 label.
    await press(stdin, KEY.ctrlU, 'staging-');
    await frameWith(lastFrame, 'starting and ending with a letter or digit');
    await press(stdin, '1');
    const fixed = await frameWith(lastFrame, 'staging-1█ (created when absent)');
    expect(fixed).not.toContain('Lowercase letters');
  });

  it('shows what will be created and how to connect, and a wrong confirmation restores nothing', async () => {
    const { kubernetes, calls } = fakeKubernetes();
    const { lastFrame, stdin, backup, calls: localCalls } = await openWizard(kubernetes);
    await fillNamespaceForm(stdin, 'llm-analytics-staging');
    const plan = await frameWith(lastFrame, 'dry-run plan');
    expect(plan).toMatch(/Namespace\s+llm-analytics-staging \(created: it does not exist yet\)/);
    expect(plan).toMatch(/Pod, claim\s+llm-analytics-restore-<id>; claim 20Gi, class fast-ssd/);
    expect(plan).toMatch(/Copied from\s+pod llm-analytics-hub\/timescaledb-0: image, env, resources/);
    expect(plan).toMatch(/Image\s+timescale\/timescaledb-ha:pg15\.8-ts2\.17/);
    expect(plan).toMatch(/Then\s+restore 977 KB, start PostgreSQL on port 5432, validate; pod kept/);
    expect(plan).toMatch(/Connect\s+kubectl port-forward -n llm-analytics-staging pod\/<pod> 15432:5432\n\s+psql -h 127\.0\.0\.1 -p 15432 -U postgres -d llm_analytics/);
    expect(calls.plan).toEqual([{ backupId: backup.id, namespace: 'llm-analytics-staging', localPort: 15432 }]);
    expect(localCalls.plan).toHaveLength(0);
    await press(stdin, KEY.enter, 'llm_analytic', KEY.enter);
    await frameWith(lastFrame, 'nothing was done');
    await settle(100);
    expect(calls.restore).toHaveLength(0);
  });

  it('restores into the namespace after the backup id is typed: the request carries the namespace, the result the validation table and the connect lines', async () => {
    const { kubernetes, calls } = fakeKubernetes();
    const { lastFrame, stdin, backup, calls: localCalls } = await openWizard(kubernetes);
    await press(stdin, KEY.right, KEY.enter, 'llm-analytics-staging', KEY.enter, KEY.enter, KEY.ctrlU, 'analytics_copy', KEY.enter);
    await frameWith(lastFrame, 'llm_analytics renamed to analytics_copy');
    await press(stdin, KEY.enter, backup.id, KEY.enter);
    const done = await frameWith(lastFrame, 'Restore completed');
    expect(calls.restore).toEqual([{ backupId: backup.id, namespace: 'llm-analytics-staging', localPort: 5433, targetDatabase: 'analytics_copy' }]);
    expect(localCalls.restore).toHaveLength(0);
    expect(done).toMatch(/tables\s+10\s+10/);
    expect(flat(done)).toContain('Restore completed in 3.2s: pod llm-analytics-staging/llm-analytics-restore-1a2b3c CHECK');
    expect(flat(done)).toContain('Namespace llm-analytics-staging created; the pod and its claim llm-analytics-restore-1a2b3c stay. Connect with:');
    expect(flat(done)).toContain('kubectl port-forward -n llm-analytics-staging pod/llm-analytics-restore-1a2b3c 5433:5432 psql -h 127.0.0.1 -p 5433 -U postgres -d analytics_copy');
  });

  it('shows a refused plan (forbidden) with its hint and goes back to the form', async () => {
    const { kubernetes } = fakeKubernetes({
      planRestore: async () => {
        throw new BackupError('KUBERNETES_FORBIDDEN', 'Not allowed to create namespaces (cluster-wide).', 'Grant a ClusterRole with namespaces (get, create, delete).');
      },
    });
    const { lastFrame, stdin } = await openWizard(kubernetes);
    await fillNamespaceForm(stdin, 'llm-analytics-denied');
    const frame = await frameWith(lastFrame, 'KUBERNETES_FORBIDDEN');
    expect(frame).toContain('hint: Grant a ClusterRole');
    await press(stdin, KEY.escape);
    await frameWith(lastFrame, 'llm-analytics-denied (created when absent)');
  });

  it('asks on Ctrl-C during a namespace restore, then cancels it through the AbortSignal', async () => {
    let seenSignal: AbortSignal | undefined;
    const { kubernetes } = fakeKubernetes({
      restore: (request, progress, signal) => {
        seenSignal = signal;
        progress({ phase: 'restore', message: `Creating a TimescaleDB pod in namespace ${request.namespace}` });
        return new Promise((resolve, reject) => {
          signal.addEventListener('abort', () => reject(new BackupError('CANCELLED', 'The restore was cancelled. The pod, claim and namespace created for it were deleted.')));
          setTimeout(() => resolve(namespaceResult(request)), 60_000).unref();
        });
      },
    });
    const { lastFrame, stdin } = await openWizard(kubernetes);
    await fillNamespaceForm(stdin, 'llm-analytics-staging');
    await frameWith(lastFrame, 'dry-run plan');
    await press(stdin, KEY.enter, 'llm_analytics', KEY.enter);
    await frameWith(lastFrame, 'Ctrl-C to cancel');
    await press(stdin, KEY.ctrlC);
    await frameWith(lastFrame, 'Cancel the running restore?');
    expect(seenSignal?.aborted).toBe(false);
    await press(stdin, 'y');
    const frame = await frameWith(lastFrame, 'CANCELLED');
    expect(seenSignal?.aborted).toBe(true);
    expect(flat(frame)).toContain('The restore was cancelled. The pod, claim and namespace created for it were deleted.');
  });
});
