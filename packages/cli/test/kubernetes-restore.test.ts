import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { KubeApi, loadKubeConfig } from '../../core/src/host/kubernetes/kubeApi.js';
import { KubernetesHost } from '../../core/src/host/kubernetes/kubernetesHost.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../core/test-support/fakeKubeApi.js';
import { startCluster, type Cluster } from '../../core/test-support/pgCluster.js';
import { clusterTableDigests, loadSampleData, tableDigests, type TableDigest } from '../../core/test-support/sampleData.js';
import { CLI, runCli, scratchDir } from './support/runCli.js';
import { createTestBucket, type TestBucket } from '../../core/test-support/s3Server.js';
import { s3RepoEnv, switchAndWaitArchived, walPushCommand } from './support/walArchive.js';

/**
 * Restores in Kubernetes through the test API server: PostgreSQL is the pod of a StatefulSet
 * (the harness cluster, its directory the pod's claim), archiving WAL with the real CLI. New pods
 * (--target-namespace, --test-namespace, the in-place helper) are created through the API and run
 * in their own mount/PID/network namespaces with their claim bind-mounted (see fakeKubeApi.ts).
 */
const PASSPHRASE = 'kubernetes restore passphrase, never printed';
let cluster: Cluster;
let api: FakeKubeApi;
let kubeconfig: string;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let env: Record<string, string>;
let bucket: TestBucket;
let k8s: string[];
let backupId: string;
let atBackup: TableDigest[];
let batch: { lsn: string; digests: TableDigest[] };

async function podDigests(namespace: string, pod: string, port: number, database = 'llm_analytics'): Promise<TableDigest[]> {
  const host = new KubernetesHost({ kubeconfig, namespace, pod });
  return tableDigests(host, { host: '127.0.0.1', port, user: 'postgres' }, database);
}

async function deleteNamespace(name: string): Promise<void> {
  await new KubeApi(loadKubeConfig({ kubeconfig })).deleteNamespace(name);
  for (let i = 0; i < 200 && api.objects().namespaces.includes(name); i++) await new Promise((resolve) => setTimeout(resolve, 100));
}

beforeAll(async () => {
  scratch = await scratchDir('cli-kubernetes-restore-');
  bucket = await createTestBucket();
  const repoEnv = s3RepoEnv(bucket, 'kubernetes', PASSPHRASE);
  cluster = await startCluster({ archiveCommand: walPushCommand(repoEnv) });
  env = { ...repoEnv, ...cluster.env };
  await loadSampleData(cluster, { rows: 2_000 });
  const template = { labels: { app: 'timescaledb' }, dataVolume: { claimName: 'data-timescaledb-0', mountPath: cluster.dir }, pgdata: cluster.pgdata };
  api = await startFakeKubeApi({
    statefulSets: [{ namespace: 'llm-analytics-hub', name: 'timescaledb', replicas: 1, pod: template }],
    // The same server seen as a pod without an owner, whose PostgreSQL was started with pg_ctl.
    pods: [{ namespace: 'llm-analytics-hub', name: 'standalone', ...template, labels: { app: 'standalone' } }],
    persistentVolumeClaims: [{ namespace: 'llm-analytics-hub', name: 'data-timescaledb-0', dir: cluster.dir, storage: '5Gi' }],
  });
  kubeconfig = api.writeKubeconfig();
  k8s = ['-n', 'llm-analytics-hub', '--pod', 'timescaledb-0', '--kubeconfig', kubeconfig];
  const backup = await runCli(['database', 'backup', '-d', 'llm_analytics', '--json', ...k8s], env);
  expect(backup.exitCode, backup.stderr).toBe(0);
  backupId = backup.json.id;
  atBackup = await clusterTableDigests(cluster);
  await cluster.psql('CREATE TABLE after_backup AS SELECT g AS n FROM generate_series(1, 500) g', 'llm_analytics');
  const lsn = (await cluster.psql('select pg_current_wal_insert_lsn()')).trim();
  batch = { lsn, digests: await clusterTableDigests(cluster) };
  await cluster.psql('DELETE FROM after_backup WHERE n > 100', 'llm_analytics');
  await switchAndWaitArchived(cluster);
});
afterAll(async () => {
  await api?.close();
  await cluster?.destroy();
  await bucket?.cleanup();
  await scratch?.remove();
});

describe('restore --target-namespace NS (Kubernetes)', () => {
  it('creates the namespace, a pod and claim from the source pod, replays the archived WAL there, renames the database and prints how to connect', async () => {
    const run = await runCli(['database', 'restore', '--backup-id', backupId, '--target-namespace', 'llm-analytics-staging', '--target-database', 'analytics_copy', '--port', '15432', '--force', '--json', ...k8s], env);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ success: true, backupId, namespace: 'llm-analytics-staging', createdNamespace: true, recoverTo: 'the end of the archived WAL' });
    expect(run.json.connect.portForward).toBe(`kubectl port-forward -n llm-analytics-staging pod/${run.json.pod} 15432:${cluster.port}`);
    expect(run.json.connect.psql).toBe('psql -h 127.0.0.1 -p 15432 -U postgres -d analytics_copy');
    expect(run.json.messages.join('\n')).toMatch(/archived WAL files \(\d+ bytes\) staged in .*llm-analytics-wal/);
    expect(JSON.stringify(run.json)).not.toContain(PASSPHRASE);
    expect(api.objects().pods).toContain(`llm-analytics-staging/${run.json.pod}`);
    expect(api.objects().pvcs).toContain(`llm-analytics-staging/${run.json.persistentVolumeClaim}`);
    // The pod serves the restored copy: every table as the source has it now (WAL replayed to its end).
    expect(await podDigests('llm-analytics-staging', run.json.pod, cluster.port, 'analytics_copy')).toEqual(await clusterTableDigests(cluster));
    // The real kubectl reaches it through the same exec endpoint.
    const { stdout } = await promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, 'exec', '-n', 'llm-analytics-staging', run.json.pod, '--', 'psql', '-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'postgres', '-d', 'analytics_copy', '-Atc', 'select count(*) from after_backup']);
    expect(stdout.trim()).toBe('100');
    await deleteNamespace('llm-analytics-staging');
    expect(api.objects()).toMatchObject({ namespaces: ['llm-analytics-hub'], pods: ['llm-analytics-hub/standalone', 'llm-analytics-hub/timescaledb-0'], pvcs: ['llm-analytics-hub/data-timescaledb-0'] });
  });

  it('recovers to an LSN in the new pod with the WAL staged through exec (restore_command = cp)', async () => {
    const run = await runCli(['database', 'restore', '--backup-id', backupId, '--target-namespace', 'llm-analytics-pitr', '--pitr-lsn', batch.lsn, '--force', '--json', ...k8s], env);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ success: true, recoverTo: `LSN ${batch.lsn}` });
    expect(await podDigests('llm-analytics-pitr', run.json.pod, cluster.port)).toEqual(batch.digests);
    await deleteNamespace('llm-analytics-pitr');
  });

  it('without permission to create namespaces, stops before creating anything and names what is missing (exit 7)', async () => {
    api.deny('create', 'namespaces');
    api.deny('create', 'persistentvolumeclaims');
    try {
      const run = await runCli(['database', 'restore', '--backup-id', backupId, '--target-namespace', 'llm-analytics-denied', '--force', ...k8s], env);
      expect(run.exitCode).toBe(7);
      expect(run.stderr).toContain('error [KUBERNETES_FORBIDDEN]: Not allowed to create namespaces (cluster-wide), create persistentvolumeclaims in namespace llm-analytics-denied');
      expect(run.stderr).toMatch(/^hint: .*namespaces \(get, create, delete\)/m);
      expect(api.objects().namespaces).toEqual(['llm-analytics-hub']);
    } finally {
      api.allowAll();
    }
  });
});

describe('verify-backup --test-restore --test-namespace NS (Kubernetes)', () => {
  it('test-restores in a temporary pod and deletes the pod, its claim and the namespace it created', async () => {
    const run = await runCli(['database', 'verify-backup', '--backup-id', backupId, '--test-restore', '--test-namespace', 'backup-test', '--no-record', '--json', ...k8s], env);
    expect(run.exitCode, JSON.stringify(run.json?.checks ?? run.stderr)).toBe(0);
    const row = run.json.checks.find((c: { name: string }) => c.name === 'Test restore');
    expect(row.status).toBe('pass');
    expect(row.message).toMatch(/in pod backup-test\/llm-analytics-verify-[0-9a-f]{6}, claim llm-analytics-verify-[0-9a-f]{6}, namespace backup-test; [\d.]+ s, deleted afterwards/);
    expect(run.json.testRestore.cleanedUp).toBe(true);
    expect(api.objects()).toMatchObject({ namespaces: ['llm-analytics-hub'], pods: ['llm-analytics-hub/standalone', 'llm-analytics-hub/timescaledb-0'], pvcs: ['llm-analytics-hub/data-timescaledb-0'] });
  });

  it('when the test restore fails (wrong key), still deletes what it created and keeps a namespace that existed', async () => {
    const kube = new KubeApi(loadKubeConfig({ kubeconfig }));
    await kube.createNamespace('existing-test', {});
    try {
      const run = await runCli(['database', 'verify-backup', '--backup-id', backupId, '--test-namespace', 'existing-test', '--no-record', '--json', ...k8s], { ...env, BACKUP_ENCRYPTION_PASSPHRASE: 'not the key' });
      expect(run.exitCode).not.toBe(0);
      const row = run.json.checks.find((c: { name: string }) => c.name === 'Test restore');
      expect(row.status).not.toBe('pass');
      expect(row.message).toMatch(/deleted afterwards/);
      expect(row.message).not.toMatch(/namespace existing-test;/);
      expect(api.objects()).toMatchObject({ namespaces: ['existing-test', 'llm-analytics-hub'], pods: ['llm-analytics-hub/standalone', 'llm-analytics-hub/timescaledb-0'], pvcs: ['llm-analytics-hub/data-timescaledb-0'] });
    } finally {
      await deleteNamespace('existing-test');
    }
  });

  it('on Ctrl-C while the pod runs, deletes it, its claim and the namespace, and exits 130', async () => {
    const before = api.execs.length;
    const child = spawn(CLI, ['database', 'verify-backup', '--backup-id', backupId, '--test-namespace', 'backup-cancel', '--no-record', '--json', ...k8s], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    for (let i = 0; i < 600 && !api.execs.slice(before).some((argv) => argv.includes('tar')); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(api.objects().namespaces).toContain('backup-cancel');
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(JSON.parse(stdout).error.code).toBe('CANCELLED');
    expect(api.objects()).toMatchObject({ namespaces: ['llm-analytics-hub'], pods: ['llm-analytics-hub/standalone', 'llm-analytics-hub/timescaledb-0'], pvcs: ['llm-analytics-hub/data-timescaledb-0'] });
  });
});

describe('restore in place (Kubernetes)', () => {
  it('refuses without --force when there is no terminal to confirm on, and changes nothing (exit 3)', async () => {
    const run = await runCli(['database', 'restore', '--backup-id', backupId, ...k8s], env);
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toContain('CONFIRMATION_REQUIRED');
    expect(api.objects().replicas).toEqual({ 'llm-analytics-hub/timescaledb': 1 });
  });

  it('without permission to scale the StatefulSet, stops before stopping anything (exit 7)', async () => {
    api.deny('patch', 'statefulsets/scale');
    try {
      const run = await runCli(['database', 'restore', '--backup-id', backupId, '--force', ...k8s], env);
      expect(run.exitCode).toBe(7);
      expect(run.stderr).toContain('Not allowed to patch statefulsets/scale in namespace llm-analytics-hub');
      expect(api.objects().replicas).toEqual({ 'llm-analytics-hub/timescaledb': 1 });
      expect((await cluster.psql('select 1')).trim()).toBe('1');
    } finally {
      api.allowAll();
    }
  });

  it('scales the StatefulSet down, restores to an LSN through a helper pod on the same claim, scales back, and the pod serves exactly the rows of that point', async () => {
    const run = await runCli(['database', 'restore', '--backup-id', backupId, '--pitr-lsn', batch.lsn, '--force', '--json', ...k8s], env);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ success: true, method: 'statefulset', statefulSet: 'timescaledb', recoverTo: `LSN ${batch.lsn}` });
    const messages = run.json.messages.join('\n');
    expect(messages).toContain('StatefulSet llm-analytics-hub/timescaledb scaled from 1 to 0');
    expect(messages).toMatch(/Helper pod llm-analytics-hub\/llm-analytics-restore-helper-[0-9a-f]{6} mounts claim data-timescaledb-0/);
    expect(messages).toMatch(/Previous data .*before-restore-.* removed after the restored server was validated/);
    expect(api.objects()).toMatchObject({ pods: ['llm-analytics-hub/standalone', 'llm-analytics-hub/timescaledb-0'], replicas: { 'llm-analytics-hub/timescaledb': 1 } });
    expect(await clusterTableDigests(cluster)).toEqual(batch.digests);
    expect(readdirSync(cluster.dir).filter((name) => name.includes('before-restore'))).toEqual([]);
    expect(existsSync(`${cluster.pgdata}/llm-analytics-wal`)).toBe(false);
    expect(atBackup).not.toEqual(batch.digests);
  });

  it('in a pod without a StatefulSet, stops PostgreSQL with pg_ctl; when the restore fails, puts the old data back and starts it again', async () => {
    const before = await clusterTableDigests(cluster);
    const standalone = ['-n', 'llm-analytics-hub', '--pod', 'standalone', '--kubeconfig', kubeconfig];
    const run = await runCli(['database', 'restore', '--backup-id', backupId, '--no-wal-replay', '--force', ...standalone], { ...env, BACKUP_ENCRYPTION_PASSPHRASE: 'not the key' });
    expect(run.exitCode).toBe(8);
    expect(run.stderr).toMatch(/error \[ENCRYPTION_KEY_WRONG\]: .* The previous data was put back in .* and started again\./);
    expect(await clusterTableDigests(cluster)).toEqual(before);
    expect(readdirSync(cluster.dir).filter((name) => name.includes('before-restore'))).toEqual([]);
  });

  it('in a pod without a StatefulSet, restores the backup as taken (--no-wal-replay) and the server has the rows of the backup', async () => {
    const run = await runCli(['database', 'restore', '--backup-id', backupId, '--no-wal-replay', '--force', '--json', '-n', 'llm-analytics-hub', '--pod', 'standalone', '--kubeconfig', kubeconfig], env);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ success: true, method: 'pg_ctl' });
    expect(await clusterTableDigests(cluster)).toEqual(atBackup);
  });
});
