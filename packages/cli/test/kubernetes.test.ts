import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chown } from 'node:fs/promises';
import { lookupOsUser, runsAsRoot } from '../../core/src/host/osUser.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../core/test-support/fakeKubeApi.js';
import { startCluster, stopClusterAt, trackDataDirectory, type Cluster } from '../../core/test-support/pgCluster.js';
import { clusterTableDigests, loadSampleData, tableDigests } from '../../core/test-support/sampleData.js';
import { freePort, runCli, scratchDir } from './support/runCli.js';

/**
 * The CLI with -n/--kubeconfig: PostgreSQL "in a pod" behind the test API server; backup and
 * restore run their commands through the exec API, and say so.
 */
let cluster: Cluster;
let api: FakeKubeApi;
let kubeconfig: string;
let scratch: Awaited<ReturnType<typeof scratchDir>>;

beforeAll(async () => {
  cluster = await startCluster();
  await loadSampleData(cluster, { rows: 5_000 });
  api = await startFakeKubeApi({ pods: [{ namespace: 'llm-analytics-hub', name: 'timescaledb-0' }] });
  kubeconfig = api.writeKubeconfig();
  scratch = await scratchDir('cli-kubernetes-');
  if (runsAsRoot()) await chown(scratch.path, lookupOsUser('postgres').uid, lookupOsUser('postgres').gid);
});
afterAll(async () => {
  await api?.close();
  await cluster?.destroy();
  await scratch?.remove();
});

describe('database backup/restore -n NAMESPACE --kubeconfig FILE', () => {
  it('backs up the pod\'s database, restores it in the pod, and every table has the source\'s rows', async () => {
    const env = { ...cluster.env, BACKUP_REPO: `${scratch.path}/repo` };
    const k8s = ['-n', 'llm-analytics-hub', '--pod', 'timescaledb-0', '--kubeconfig', kubeconfig];
    const backup = await runCli(['database', 'backup', '-d', 'llm_analytics', '--no-encryption', '--json', ...k8s], env);
    expect(backup.exitCode).toBe(0);
    expect(backup.json).toMatchObject({ status: 'Completed', source: 'pod llm-analytics-hub/timescaledb-0' });
    const id = backup.json.id as string;
    const shown = await runCli(['database', 'backup', '-d', 'llm_analytics', '--no-encryption', ...k8s], env);
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toContain('pod llm-analytics-hub/timescaledb-0');

    const pgdata = `${scratch.path}/restored`;
    await trackDataDirectory(pgdata).catch(() => {});
    const port = await freePort();
    const restore = await runCli(['database', 'restore', '--backup-id', id!, '--pgdata', pgdata, '--port', String(port), '--force', '--json', ...k8s], env);
    try {
      expect(restore.exitCode).toBe(0);
      expect(restore.json).toMatchObject({ success: true, backupId: id, port });
      const restored = await tableDigests(cluster.osHost, { host: '127.0.0.1', port, user: 'postgres' }, 'llm_analytics');
      expect(restored).toEqual(await clusterTableDigests(cluster));
    } finally {
      await stopClusterAt(pgdata);
    }
  });

  it('without pods/exec permission, stops before doing anything and prints the minimal Role (exit 7)', async () => {
    api.deny('create', 'pods', 'exec');
    try {
      const env = { ...cluster.env, BACKUP_REPO: `${scratch.path}/repo-denied` };
      const run = await runCli(['database', 'backup', '-d', 'llm_analytics', '--no-encryption', '-n', 'llm-analytics-hub', '--kubeconfig', kubeconfig], env);
      expect(run.exitCode).toBe(7);
      expect(run.stderr).toContain('Not allowed to create pods/exec in namespace llm-analytics-hub');
      expect(run.stderr).toContain('pods/exec (create');
    } finally {
      api.allowAll();
    }
  });

  it('a pod that does not exist is reported by name (exit 4)', async () => {
    const env = { ...cluster.env, BACKUP_REPO: `${scratch.path}/repo-nopod` };
    const run = await runCli(['database', 'backup', '-d', 'llm_analytics', '--no-encryption', '--pod', 'timescaledb-7', '--kubeconfig', kubeconfig], env);
    expect(run.exitCode).toBe(4);
    expect(run.stderr).toContain('pods "timescaledb-7" not found');
  });
});
