import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KubernetesHost, type KubernetesHostOptions } from '../../src/host/kubernetes/kubernetesHost.js';
import { lookupOsUser, runsAsRoot } from '../../src/host/osUser.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../test-support/fakeKubeApi.js';
import { describeHostConformance, slowSink } from '../../test-support/hostConformance.js';

let api: FakeKubeApi;
let kubeconfig: string;
let scratch: string;

beforeAll(async () => {
  api = await startFakeKubeApi({ pods: [{ namespace: 'llm-analytics-hub', name: 'timescaledb-0', labels: { app: 'timescaledb' } }] });
  kubeconfig = api.writeKubeconfig();
  scratch = await mkdtemp(join(tmpdir(), 'kubernetes-host-test-'));
  // The "pod" runs commands as postgres: the scratch directory is that user's.
  if (runsAsRoot()) await chown(scratch, lookupOsUser('postgres').uid, lookupOsUser('postgres').gid);
});
afterAll(async () => {
  await api?.close();
  await rm(scratch, { recursive: true, force: true });
});

const podHost = (options: Partial<KubernetesHostOptions> = {}) => new KubernetesHost({ kubeconfig, killGraceMs: 1000, ...options });

describeHostConformance('KubernetesHost', { make: (options = {}) => podHost(options), scratch: () => scratch });

describe('KubernetesHost specifics', () => {
  test('describes itself as the pod it runs in', async () => {
    const host = podHost();
    expect(host.description).toBe('pod llm-analytics-hub/timescaledb-0');
    await host.ready();
  });

  test('finds the pod by label selector and names it in its description', async () => {
    const host = podHost({ labelSelector: 'app=timescaledb', pod: undefined });
    expect((await host.exec(['echo', 'hi'])).stdout).toBe('hi\n');
    expect(host.description).toBe('pod llm-analytics-hub/timescaledb-0');
  });

  test('secrets passed as environment never appear in the exec request\'s argv', async () => {
    const result = await podHost().exec(['printenv', 'PGPASSWORD'], { env: { PGPASSWORD: 'hunter2-secret' } });
    expect(result.stdout).toBe('hunter2-secret\n');
    expect(JSON.stringify(api.execs)).not.toContain('hunter2-secret');
  });

  test('on a v4-only API server, commands that read stdin to its end still finish (no stdin close on v4)', async () => {
    const old = await startFakeKubeApi({ pods: [{ namespace: 'llm-analytics-hub', name: 'timescaledb-0' }], protocols: ['v4.channel.k8s.io'] });
    try {
      const host = new KubernetesHost({ kubeconfig: old.writeKubeconfig() });
      const { protocol } = await host.ready();
      expect(protocol).toBe('v4.channel.k8s.io');
      const result = await host.exec(['sh', '-c', 'wc -c; printenv X'], { stdin: Readable.from([Buffer.alloc(100_000, 1)]), env: { X: 'y' } });
      expect(result).toMatchObject({ exitCode: 0, stdout: '100000\ny\n' });
    } finally {
      await old.close();
    }
  });

  test('a wrong token is KUBERNETES_AUTH_FAILED saying 401 and what to do', async () => {
    const host = new KubernetesHost({ kubeconfig: api.writeKubeconfig({ token: 'wrong' }) });
    await expect(host.exec(['true'])).rejects.toMatchObject({ code: 'KUBERNETES_AUTH_FAILED', message: expect.stringContaining('401'), hint: expect.stringContaining('token') });
  });

  test('a pod that does not exist is POD_NOT_FOUND naming namespace and pod', async () => {
    const host = podHost({ pod: 'timescaledb-9' });
    await expect(host.exec(['true'])).rejects.toMatchObject({ code: 'POD_NOT_FOUND', message: expect.stringContaining('llm-analytics-hub/timescaledb-9') });
  });

  test('missing pods/exec permission is found up front and answered with the minimal Role', async () => {
    api.deny('create', 'pods', 'exec');
    try {
      const failure = podHost().exec(['true']);
      await expect(failure).rejects.toMatchObject({ code: 'KUBERNETES_FORBIDDEN', message: expect.stringContaining('create pods/exec') });
      await expect(failure).rejects.toMatchObject({ hint: expect.stringContaining('pods/exec (create') });
    } finally {
      api.allowAll();
    }
  });

  test('a forbidden pod read is KUBERNETES_FORBIDDEN with the API server\'s reason and the RBAC hint', async () => {
    api.deny('get', 'pods');
    try {
      await expect(podHost().exec(['true'])).rejects.toMatchObject({ code: 'KUBERNETES_FORBIDDEN', message: expect.stringContaining('403'), hint: expect.stringContaining('Role') });
    } finally {
      api.allowAll();
    }
  });

  test('an exec connection dropped mid-stream fails the reader and done with a clear HOST_COMMAND_FAILED', async () => {
    const host = podHost();
    await host.ready();
    api.dropNextExecAfter(4 * 1024 * 1024);
    const run = host.execStream(['head', '-c', String(64 * 1024 * 1024), '/dev/zero']);
    let received = 0;
    const consumed = pipeline(run.stdout, slowSink(0, (chunk) => (received += chunk.length)));
    await expect(consumed).rejects.toMatchObject({ code: 'HOST_COMMAND_FAILED', message: expect.stringContaining('exec connection to pod llm-analytics-hub/timescaledb-0 was lost') });
    await expect(run.done).rejects.toMatchObject({ code: 'HOST_COMMAND_FAILED' });
    expect(received).toBeLessThan(64 * 1024 * 1024);
  });

  test('an unreachable API server is KUBERNETES_UNREACHABLE', async () => {
    const down = await startFakeKubeApi({ pods: [] });
    const unreachable = join(scratch, 'unreachable-kubeconfig.yaml');
    await writeFile(unreachable, await readFile(down.writeKubeconfig(), 'utf8'));
    await down.close();
    await expect(new KubernetesHost({ kubeconfig: unreachable }).exec(['true'])).rejects.toMatchObject({ code: 'KUBERNETES_UNREACHABLE', hint: expect.stringContaining('kubeconfig') });
  });
});
