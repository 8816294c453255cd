import { execFile } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Exec, KubeConfig, type V1Status } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFakeKubeApi, type FakeKubeApi } from '../../test-support/fakeKubeApi.js';

/**
 * Keeps the test API server honest: the exec protocol it speaks must satisfy clients we did not
 * write — client-node's own Exec and the real kubectl binaries (1.30+ use websockets v5; older
 * ones are offered only the protocols they would have met).
 */
let api: FakeKubeApi;
let kubeconfig: string;

beforeAll(async () => {
  api = await startFakeKubeApi({ pods: [{ namespace: 'llm-analytics-hub', name: 'timescaledb-0' }] });
  kubeconfig = api.writeKubeconfig();
});
afterAll(async () => {
  await api?.close();
});

function kubectl(binary: string, args: string[], input: Buffer): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = execFile(binary, ['--kubeconfig', kubeconfig, ...args], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH, HOME: '/nonexistent' } }, (error, stdout, stderr) => {
      resolvePromise({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString() });
    });
    child.stdin!.on('error', () => {}); // kubectl may exit before reading it all
    child.stdin!.end(input);
  });
}

/** The real kubectl and its versioned siblings (kubectl.1.32 ...) where the machine has them. */
function kubectlBinaries(): string[] {
  const found = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find(existsSync);
  if (!found) return [];
  let dir: string;
  try {
    dir = dirname(resolve(dirname(found), readlinkSync(found)));
  } catch {
    dir = dirname(found);
  }
  return ['1.32', '1.33'].map((v) => join(dir, `kubectl.${v}`)).filter(existsSync);
}

describe('the test API server against clients we did not write', () => {
  test("client-node's Exec gets stdout, stderr and the exit code from the error channel Status", async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    stdout.on('data', (c: Buffer) => out.push(c));
    stderr.on('data', (c: Buffer) => err.push(c));
    const status = await new Promise<V1Status>((resolveStatus, reject) => {
      new Exec(kc)
        .exec('llm-analytics-hub', 'timescaledb-0', 'timescaledb', ['sh', '-c', 'cat; echo oops >&2; exit 7'], stdout, stderr, Readable.from([Buffer.from('hello through stdin\n')]), false, resolveStatus)
        .catch(reject);
    });
    expect(Buffer.concat(out).toString()).toBe('hello through stdin\n');
    expect(Buffer.concat(err).toString()).toBe('oops\n');
    expect(status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '7' }] } });
  });

  const binaries = kubectlBinaries();
  test.runIf(binaries.length > 0)('the real kubectl exec -i round-trips 3 MiB of binary stdin and the exit code', async () => {
    const payload = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
    for (const binary of binaries) {
      const echoed = await kubectl(binary, ['exec', '-i', '-n', 'llm-analytics-hub', 'timescaledb-0', '--', 'sh', '-c', 'cat'], payload);
      expect({ binary, code: echoed.code, stderr: echoed.stderr }).toEqual({ binary, code: 0, stderr: '' });
      expect(echoed.stdout.equals(payload)).toBe(true);
      const failed = await kubectl(binary, ['exec', '-i', '-n', 'llm-analytics-hub', 'timescaledb-0', '--', 'sh', '-c', 'echo bad >&2; exit 5'], Buffer.alloc(0));
      expect({ binary, code: failed.code, stderr: failed.stderr }).toMatchObject({ binary, code: 5, stderr: expect.stringContaining('bad') });
    }
  });
});
