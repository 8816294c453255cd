import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
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

/** REST calls since `from` that could change something: anything but GET and SelfSubjectAccessReview (exec is not a REST call here). */
function writeRequests(from: number): string[] {
  return api.requests.slice(from).filter((request) => !request.startsWith('GET ') && request !== 'POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
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

describe('restore --dry-run and --no-start in Kubernetes', () => {
  const unchanged = { namespaces: ['llm-analytics-hub'], pods: ['llm-analytics-hub/standalone', 'llm-analytics-hub/timescaledb-0'], pvcs: ['llm-analytics-hub/data-timescaledb-0'], replicas: { 'llm-analytics-hub/timescaledb': 1 } };

  it('--target-namespace --dry-run --json prints the plan (backup, PITR target and window, namespace, claim size and image of the source pod) and sends no write request', async () => {
    const before = api.requests.length;
    const execsBefore = api.execs.length;
    const run = await runCli(['database', 'restore', '--backup-id', backupId, '--target-namespace', 'llm-analytics-plan', '--pitr-lsn', batch.lsn, '--dry-run', '--json', ...k8s], env);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json).toMatchObject({
      dryRun: true, mode: 'namespace', backupId, baseBackupId: backupId, recoverTo: `LSN ${batch.lsn}`, replayWal: true, targetState: 'missing', port: cluster.port, pgdata: cluster.pgdata,
      image: 'timescale/timescaledb-ha:pg15', sourcePod: 'pod llm-analytics-hub/timescaledb-0',
      namespace: { name: 'llm-analytics-plan', exists: false },
      persistentVolumeClaim: { name: 'llm-analytics-restore-<6 hex>', request: '5Gi', created: true },
      pod: { namespace: 'llm-analytics-plan', name: 'llm-analytics-restore-<6 hex>', restartPolicy: 'Always' },
    });
    expect(run.json.window).toMatchObject({ fromLsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/), toLsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/) });
    expect(run.json.steps.slice(0, 3)).toEqual([
      'Create namespace llm-analytics-plan',
      'Create claim llm-analytics-plan/llm-analytics-restore-<6 hex> requesting 5Gi',
      `Create pod llm-analytics-plan/llm-analytics-restore-<6 hex> from image timescale/timescaledb-ha:pg15 (the settings of pod llm-analytics-hub/timescaledb-0; restart policy Always), PGDATA ${cluster.pgdata}`,
    ]);
    expect(api.requests.slice(before)).toContain('POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
    expect(writeRequests(before)).toEqual([]);
    expect(api.execs.slice(execsBefore).map((argv) => argv.join(' ')).filter((line) => /\b(tar|mv|rm|pg_ctl)\b/.test(line))).toEqual([]);
    expect(api.objects()).toEqual(unchanged);
  });

  it('in place, --dry-run prints the StatefulSet scale-down, the helper pod on the claim, where the old data goes, in human and JSON form, and changes nothing', async () => {
    const before = api.requests.length;
    const human = await runCli(['database', 'restore', '--backup-id', backupId, '--dry-run', ...k8s], env);
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toContain('Nothing was changed. The restore would be:');
    expect(human.stdout).toMatch(/│ StatefulSet\s+│ llm-analytics-hub\/timescaledb: 1 → 0 → 1\s+│/);
    expect(human.stdout).toMatch(/│ Restorable Window\s+│ \S+ \(LSN [0-9A-F]+\/[0-9A-F]+\) to /);
    expect(human.stdout).toContain('1. Scale StatefulSet llm-analytics-hub/timescaledb from 1 to 0 and wait until pod llm-analytics-hub/timescaledb-0 is gone');
    expect(human.stdout).toContain(`2. Create helper pod llm-analytics-hub/llm-analytics-restore-helper-<6 hex> from image timescale/timescaledb-ha:pg15 mounting claim data-timescaledb-0 at ${cluster.dir}`);
    expect(human.stdout).toMatch(new RegExp(`3\\. Move ${cluster.pgdata} aside to ${cluster.pgdata}\\.before-restore-\\d{8}T\\d{9}Z`));
    expect(human.stdout).toMatch(/Scale StatefulSet llm-analytics-hub\/timescaledb back to 1, wait for pod llm-analytics-hub\/timescaledb-0 to run and validate through it/);
    const json = await runCli(['database', 'restore', '--backup-id', backupId, '--dry-run', '--json', ...k8s], env);
    expect(json.exitCode, json.stderr).toBe(0);
    expect(json.json).toMatchObject({ dryRun: true, mode: 'in-place', method: 'statefulset', statefulSet: { namespace: 'llm-analytics-hub', name: 'timescaledb', replicas: 1 }, persistentVolumeClaim: { name: 'data-timescaledb-0', request: '5Gi', created: false }, pgdata: cluster.pgdata, targetState: 'not-empty', recoverTo: 'the end of the archived WAL' });
    expect(json.json.movedAsideTo).toMatch(/\.before-restore-/);
    expect(writeRequests(before)).toEqual([]);
    expect(api.objects()).toEqual(unchanged);
    expect((await cluster.psql('select 1')).trim()).toBe('1');
  });

  it('refuses --no-start with --target-namespace and in place as INVALID_ARGUMENT naming the flag and why (exit 2), before any request that changes something', async () => {
    const before = api.requests.length;
    const namespaced = await runCli(['database', 'restore', '--backup-id', backupId, '--target-namespace', 'llm-analytics-nostart', '--no-start', '--force', ...k8s], env);
    expect(namespaced.exitCode).toBe(2);
    expect(namespaced.stderr).toContain('error [INVALID_ARGUMENT]: --no-start is not available with --target-namespace: the restore starts the new pod\'s server to recover and validate it');
    const inPlace = await runCli(['database', 'restore', '--backup-id', backupId, '--no-start', '--force', '--dry-run', ...k8s], env);
    expect(inPlace.exitCode).toBe(2);
    expect(inPlace.stderr).toContain('error [INVALID_ARGUMENT]: --no-start is not available for an in-place restore: the previous data is kept aside only until the restored server has started and been validated');
    expect(inPlace.stderr).toMatch(/^hint: Restore into another directory of the pod with --pgdata DIR --no-start/m);
    expect(writeRequests(before)).toEqual([]);
    expect(api.objects()).toEqual(unchanged);
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
    // The staged WAL's restore_command (cp from the removed directory) and the target left with it.
    expect(messages).toMatch(/Recovery settings \(restore_command, recovery_target_\*\) removed from .*postgresql\.auto\.conf/);
    expect(readFileSync(`${cluster.pgdata}/postgresql.auto.conf`, 'utf8')).not.toMatch(/^(restore_command|recovery_target_\w+) =/m);
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
