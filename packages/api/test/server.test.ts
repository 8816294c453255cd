import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage, readBackupLock, readMetadata, resolveConfig, type Storage } from '@llm-analytics/core';
import { startCluster, stopClusterAt, trackDataDirectory, type Cluster } from '../../core/test-support/pgCluster.js';
import { clusterTableDigests, loadSampleData, tableDigests } from '../../core/test-support/sampleData.js';
import { createTestBucket, testStorageOptions, type TestBucket } from '../../core/test-support/s3Server.js';
import { CLI, freePort, runCli, scratchDir } from '../../cli/test/support/runCli.js';
import { OPERATE_TOKEN, READ_TOKEN } from './support/fixtures.js';
import { PASSPHRASE, UploadGate, followEvents, repositoryEnv, startSocketApi, waitForMessage, type SocketApi } from './support/server.js';

/**
 * The API over a real socket, running the real engines against a harness PostgreSQL cluster and
 * the S3 test server: backup, live progress, restore with equal row digests, cancellation,
 * exclusion of concurrent backups (API and CLI), and SIGTERM during a job.
 */
let cluster: Cluster;
let bucket: TestBucket;
let scratch: Awaited<ReturnType<typeof scratchDir>>;

beforeAll(async () => {
  cluster = await startCluster();
  await loadSampleData(cluster, { rows: 20_000 });
  bucket = await createTestBucket();
  scratch = await scratchDir('api-socket-');
});
afterAll(async () => {
  await bucket?.cleanup();
  await cluster?.destroy();
  await scratch?.remove();
});

async function keysUnder(storage: Storage): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of storage.list('')) keys.push(object.key);
  return keys;
}

describe('the API over a socket with real engines', () => {
  let api: SocketApi;
  afterAll(async () => api?.close());

  it('backs up, streams progress to the result, verifies, and restores a server whose tables equal the source', async () => {
    api = await startSocketApi(bucket, 'main', cluster);
    const started = await api.call('/v1/backups', { method: 'POST', body: JSON.stringify({ compression: 'zstd' }) });
    expect(started.status).toBe(202);
    const job = await started.json();

    const events = await followEvents(api.url, job.id);
    const last = events.at(-1)!;
    expect(last.event).toBe('result');
    expect(last.data).toMatchObject({ state: 'succeeded', result: { status: 'Completed', encrypted: true, compression: 'zstd' } });
    expect(events.some((e) => e.event === 'progress' && e.data.bytes > 0 && e.data.totalBytes > 0)).toBe(true);
    const ids = events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const backupId: string = last.data.result.id;

    const fetched = await api.call(`/v1/backups/${backupId}`, { token: READ_TOKEN });
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toMatchObject({ id: backupId, status: 'Completed', chain: [backupId] });
    const listed = await (await api.call('/v1/backups?limit=5', { token: READ_TOKEN })).json();
    expect(listed.backups[0].id).toBe(backupId);

    const verify = await api.call(`/v1/backups/${backupId}/verify`, { method: 'POST', body: JSON.stringify({ testRestore: false }) });
    expect(verify.status).toBe(202);
    const verifyEvents = await followEvents(api.url, (await verify.json()).id);
    const verified = verifyEvents.at(-1)!;
    expect(verified, JSON.stringify(verified.data)).toMatchObject({ event: 'result', data: { state: 'succeeded', result: { backupId, valid: true } } });
    // The check table arrives row by row as the engine decides it, the same rows as the result.
    expect(verifyEvents.filter((e) => e.event === 'check').map((e) => e.data)).toEqual(verified.data.result.checks);
    expect((await (await api.call(`/v1/backups/${backupId}`, { token: READ_TOKEN })).json()).status).toBe('Verified');
    const metrics = await (await api.call('/metrics', { token: READ_TOKEN })).text();
    expect(metrics).toContain('llm_analytics_backup_last_verification_success{database="llm_analytics"} 1');

    const pgdata = `${scratch.path}/restored-api`;
    await trackDataDirectory(pgdata).catch(() => {});
    const port = await freePort();
    const restore = await api.call('/v1/restores', { method: 'POST', body: JSON.stringify({ backupId, pgdata, port, confirm: backupId }) });
    expect(restore.status).toBe(202);
    try {
      const restoreEvents = await followEvents(api.url, (await restore.json()).id);
      expect(restoreEvents.at(-1)).toMatchObject({ event: 'result', data: { state: 'succeeded', result: { success: true, backupId, port } } });
      const restored = await tableDigests(cluster.osHost, { host: '127.0.0.1', port, user: 'postgres' }, 'llm_analytics');
      expect(restored).toEqual(await clusterTableDigests(cluster));
      expect(restored.length).toBeGreaterThanOrEqual(10);
    } finally {
      await stopClusterAt(pgdata);
    }
  });
});

describe('cancellation and exclusion of concurrent backups', () => {
  let api: SocketApi;
  const gate = new UploadGate();
  afterAll(async () => {
    gate.openGate();
    await api?.close();
  });

  it('cancels a running backup: it ends Failed with CANCELLED, leaves no data, upload or lock, and a later backup completes', async () => {
    api = await startSocketApi(bucket, 'cancel', cluster, gate);
    gate.close();
    const job = await (await api.call('/v1/backups', { method: 'POST', body: '{}' })).json();
    await waitForMessage(api.url, job.id, /^Backup .* started$/);
    const cancel = await api.call(`/v1/jobs/${job.id}`, { method: 'DELETE' });
    expect(cancel.status).toBe(202);
    const events = await followEvents(api.url, job.id);
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { state: 'cancelled', error: { code: 'CANCELLED' } } });

    const keys = await keysUnder(api.storage);
    expect(keys).toHaveLength(1);
    const backupId = /^backups\/([^/]+)\/backup\.json$/.exec(keys[0]!)![1]!;
    expect(await readMetadata(api.storage, backupId)).toMatchObject({ status: 'Failed', error: { code: 'CANCELLED' } });
    expect(await bucket.pendingUploads()).toBe(0);
    expect(await readBackupLock(api.storage, 'llm_analytics')).toBeUndefined();

    gate.openGate();
    const later = await (await api.call('/v1/backups', { method: 'POST', body: '{}' })).json();
    const laterEnd = (await followEvents(api.url, later.id)).at(-1)!.data;
    expect(laterEnd, JSON.stringify(laterEnd.error)).toMatchObject({ state: 'succeeded', result: { status: 'Completed' } });
  });

  it('answers 409 naming the running job to a second API backup, and a CLI backup exits BACKUP_IN_PROGRESS naming it', async () => {
    gate.close();
    const job = await (await api.call('/v1/backups', { method: 'POST', body: '{}' })).json();
    await waitForMessage(api.url, job.id, /^Backup .* started$/);

    const second = await api.call('/v1/backups', { method: 'POST', body: '{}' });
    expect(second.status).toBe(409);
    const body = await second.json();
    expect(body.error).toMatchObject({ code: 'BACKUP_IN_PROGRESS' });
    expect(body.error.message).toContain(job.id);

    const cli = await runCli(['database', 'backup', '-d', 'llm_analytics', '--json'], api.cliEnv);
    expect(cli.exitCode).toBe(5);
    expect(cli.json.error.code).toBe('BACKUP_IN_PROGRESS');
    expect(cli.json.error.message).toContain(`API job ${job.id}`);

    gate.openGate();
    expect((await followEvents(api.url, job.id)).at(-1)!.data).toMatchObject({ state: 'succeeded' });
  });

  it('answers 409 naming the CLI process while a CLI backup holds the repository lock', async () => {
    const cli = runCli(['database', 'backup', '-d', 'llm_analytics', '--json'], api.cliEnv);
    let lock = await readBackupLock(api.storage, 'llm_analytics');
    const deadline = Date.now() + 60_000;
    while (!lock && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      lock = await readBackupLock(api.storage, 'llm_analytics');
    }
    expect(lock?.owner.tool).toBe('cli');
    const response = await api.call('/v1/backups', { method: 'POST', body: '{}' });
    expect(response.status).toBe(409);
    expect((await response.json()).error.message).toMatch(/cli process \d+/);
    const finished = await cli;
    expect(finished.exitCode).toBe(0);
    expect(finished.json.status).toBe('Completed');
    expect(await readBackupLock(api.storage, 'llm_analytics')).toBeUndefined();
  });
});

describe('llm-analytics serve', () => {
  it('on SIGTERM during a backup stops accepting, cancels the job after the timeout, leaves it Failed and exits 0', async () => {
    const port = await freePort();
    const env = { ...repositoryEnv(bucket, 'sigterm', cluster), BACKUP_API_TOKENS: `${OPERATE_TOKEN}:operate,${READ_TOKEN}:read`, PATH: process.env.PATH!, HOME: process.env.HOME! };
    const server = spawn(CLI, ['serve', '--port', String(port), '--shutdown-timeout', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    server.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    try {
      const url = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 200 && !stderr.includes('"listening"'); i++) await new Promise((r) => setTimeout(r, 50));
      const job = await (await fetch(`${url}/v1/backups`, { method: 'POST', headers: { Authorization: `Bearer ${OPERATE_TOKEN}` }, body: '{}' })).json();
      const events = followEvents(url, job.id).catch((error: Error) => [{ event: 'stream broke', data: String(error.cause ?? error) }]);
      await waitForMessage(url, job.id, /^Backup .* started$/);
      server.kill('SIGTERM');
      expect(await exited, stderr).toBe(0);
      expect((await events).at(-1), stderr).toMatchObject({ event: 'error', data: { state: 'cancelled', error: { code: 'CANCELLED' } } });
      const storage = openStorage(resolveConfig({}, env).repository, { credentials: testStorageOptions(bucket.bucket, bucket.env).credentials });
      const keys = await keysUnder(storage);
      const backupId = /^backups\/([^/]+)\/backup\.json$/.exec(keys.find((key) => key.endsWith('backup.json'))!)![1]!;
      expect(await readMetadata(storage, backupId)).toMatchObject({ status: 'Failed', error: { code: 'CANCELLED' } });
      expect(keys.filter((key) => key.includes('base.tar') || key.startsWith('locks/'))).toEqual([]);
      expect(stderr).toContain('"shutting down"');
      expect(stderr).not.toContain(PASSPHRASE);
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
    }
  });
});
