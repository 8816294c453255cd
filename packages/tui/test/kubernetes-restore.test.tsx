import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openKubernetesHost, openStorage, resolveConfig } from '@llm-analytics/core';
import { KubeApi, loadKubeConfig } from '../../core/src/host/kubernetes/kubeApi.js';
import { KubernetesHost } from '../../core/src/host/kubernetes/kubernetesHost.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../core/test-support/fakeKubeApi.js';
import { startCluster, type Cluster } from '../../core/test-support/pgCluster.js';
import { clusterTableDigests, loadSampleData, tableDigests, type TableDigest } from '../../core/test-support/sampleData.js';
import { runCli, scratchDir } from '../../cli/test/support/runCli.js';
import { App } from '../src/App.js';
import { coreDeps } from '../src/coreDeps.js';
import { frameWhere, frameWith, KEY, press } from './fixtures.js';

/**
 * The wizard's namespace target end to end with the real core engines (coreDeps, as `llm-analytics
 * tui -n NS --pod POD` builds them) against the test Kubernetes API server: the database is the
 * pod of a StatefulSet (a harness cluster), the restore creates a namespace, a claim and a pod
 * through the API and restores into it through exec. The plan's screen is saved under docs/tui/.
 */
const DOCS = resolve(import.meta.dirname, '../../../docs/tui');
let cluster: Cluster;
let api: FakeKubeApi;
let kubeconfig: string;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let backupId: string;
let atBackup: TableDigest[];
let cleanup: (() => void) | undefined;

beforeAll(async () => {
  scratch = await scratchDir('tui-kubernetes-');
  cluster = await startCluster();
  await loadSampleData(cluster, { rows: 2_000 });
  const template = { labels: { app: 'timescaledb' }, image: 'timescale/timescaledb-ha:pg15', dataVolume: { claimName: 'data-timescaledb-0', mountPath: cluster.dir }, pgdata: cluster.pgdata };
  api = await startFakeKubeApi({
    statefulSets: [{ namespace: 'llm-analytics-hub', name: 'timescaledb', replicas: 1, pod: template }],
    persistentVolumeClaims: [{ namespace: 'llm-analytics-hub', name: 'data-timescaledb-0', dir: cluster.dir, storage: '5Gi' }],
  });
  kubeconfig = api.writeKubeconfig();
  const made = await runCli(['database', 'backup', '-d', 'llm_analytics', '--no-encryption', '--json', '-n', 'llm-analytics-hub', '--pod', 'timescaledb-0', '--kubeconfig', kubeconfig], { ...cluster.env, BACKUP_REPO: `${scratch.path}/repo` });
  expect(made.exitCode, made.stderr).toBe(0);
  backupId = made.json.id;
  atBackup = await clusterTableDigests(cluster);
  await cluster.psql('CREATE TABLE after_backup AS SELECT 1 AS n', 'llm_analytics');
});

afterAll(async () => {
  cleanup?.();
  await api?.close();
  await cluster?.destroy();
  await scratch?.remove();
});

/** The plan's screen for the README, with the temporary directory shown as /tmp/tui-demo (only with UPDATE_TUI_SCREENS=1). */
async function saveScreen(name: string, screen: string): Promise<void> {
  if (process.env.UPDATE_TUI_SCREENS !== '1') return;
  const text = screen.split(scratch.path).join('/tmp/tui-demo').split('\n').map((line) => line.trimEnd()).join('\n').trimEnd();
  await writeFile(`${DOCS}/${name}.txt`, `${text}\n`);
}

describe('restore wizard into a Kubernetes namespace, real core engines', () => {
  it('plans, creates the namespace, claim and pod, restores the backup there and shows how to connect; the pod serves the tables as they were at the backup', async () => {
    const config = resolveConfig({ repo: `${scratch.path}/repo`, database: 'llm_analytics', encryption: false, pgHost: '127.0.0.1', pgPort: cluster.port, pgUser: 'postgres' });
    const host = await openKubernetesHost({ kubeconfig, namespace: 'llm-analytics-hub', pod: 'timescaledb-0' });
    const deps = coreDeps({ config, storage: openStorage(config.repository), host, inKubernetes: true });
    const app = render(<App deps={deps} size={{ columns: 80, rows: 24 }} />);
    cleanup = app.unmount;
    const { lastFrame, stdin } = app;
    await frameWith(lastFrame, '1 backup');
    await press(stdin, 'r');
    await frameWith(lastFrame, '○ Kubernetes namespace (new pod)');
    // Target, namespace, local port (5433), database name (kept), recover to time (empty: the backup's end).
    await press(stdin, KEY.right, KEY.enter, 'tui-restore', KEY.enter, KEY.enter, KEY.enter, KEY.enter);
    const plan = await frameWhere(lastFrame, (f) => /dry-run plan|Error \[/.test(f), 60_000);
    await saveScreen('restore-namespace-plan', plan);
    expect(plan).toMatch(/Namespace\s+tui-restore \(created: it does not exist yet\)/);
    expect(plan).toMatch(/Pod, claim\s+llm-analytics-restore-<id>; claim 5Gi/);
    expect(plan).toMatch(/Copied from\s+pod llm-analytics-hub\/timescaledb-0: image, env, resources/);
    expect(plan).toMatch(/Image\s+timescale\/timescaledb-ha:pg15/);
    expect(plan).toContain(`kubectl port-forward -n tui-restore pod/<pod> 5433:${cluster.port}`);
    // The plan created nothing.
    expect(api.objects().namespaces).not.toContain('tui-restore');

    await press(stdin, KEY.enter, backupId, KEY.enter);
    const done = await frameWhere(lastFrame, (f) => /Restore completed|Error \[/.test(f), 240_000);
    expect(done).toContain('Restore completed');
    expect(done).toMatch(/tables\s+(\d+)\s+\1/);
    const pod = api.objects().pods.find((name) => name.startsWith('tui-restore/'))?.split('/')[1];
    expect(pod).toMatch(/^llm-analytics-restore-[0-9a-f]{6}$/);
    expect(done.replace(/\s+/g, ' ')).toContain(`kubectl port-forward -n tui-restore pod/${pod} 5433:${cluster.port}`);
    const restored = await tableDigests(new KubernetesHost({ kubeconfig, namespace: 'tui-restore', pod }), { host: '127.0.0.1', port: cluster.port, user: 'postgres' }, 'llm_analytics');
    expect(restored).toEqual(atBackup);

    await new KubeApi(loadKubeConfig({ kubeconfig })).deleteNamespace('tui-restore');
    for (let i = 0; i < 200 && api.objects().namespaces.includes('tui-restore'); i++) await new Promise((done) => setTimeout(done, 100));
    expect(api.objects().namespaces).not.toContain('tui-restore');
  });
});
