import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKubeApi, type FakeKubeApi } from '../../core/test-support/fakeKubeApi.js';
import { createTestBucket, type TestBucket } from '../../core/test-support/s3Server.js';
import { selfSignedCertificate, type TestCertificate } from '../../core/test-support/tlsCertificate.js';
import { startTlsProxy, type TlsProxy } from '../../core/test-support/tlsProxy.js';
import { runCli } from './support/runCli.js';

/**
 * NODE_EXTRA_CA_CERTS still works although bin/llm-analytics keeps Node from loading it at start
 * (config/extraCaCerts.ts): S3 over HTTPS and the Kubernetes API, each signed by a private CA
 * that only the file given in NODE_EXTRA_CA_CERTS names, are trusted; without it they are not.
 */
let dir: string;
let certificate: TestCertificate;
let bucket: TestBucket;
let proxy: TlsProxy;
let api: FakeKubeApi;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-extra-ca-'));
  certificate = selfSignedCertificate(dir);
  bucket = await createTestBucket();
  proxy = await startTlsProxy(bucket.env.AWS_ENDPOINT_URL!, certificate);
  api = await startFakeKubeApi({});
});
afterAll(async () => {
  await proxy?.close();
  await bucket?.cleanup();
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('S3 over HTTPS, signed by a CA named only in NODE_EXTRA_CA_CERTS', () => {
  const s3Env = () => ({ ...bucket.env, AWS_ENDPOINT_URL: proxy.url, BACKUP_REPO: `s3://${bucket.bucket}/extra-ca` });

  it('is trusted: the repository is read through the proxy', async () => {
    const run = await runCli(['database', 'list-backups', '--json'], { ...s3Env(), NODE_EXTRA_CA_CERTS: certificate.certFile });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.json.backups).toEqual([]);
  });

  it('is refused without it', async () => {
    const run = await runCli(['database', 'list-backups', '--json'], s3Env());
    expect(run.json.error).toMatchObject({ code: 'STORAGE_UNREACHABLE' });
    expect(run.json.error.message).toContain(`The TLS certificate of S3 endpoint ${proxy.url} is not trusted`);
    expect(run.json.error.hint).toContain('NODE_EXTRA_CA_CERTS');
  });

  it('a file that is not there is a clear error naming it', async () => {
    const missing = join(dir, 'no-such-ca.pem');
    const run = await runCli(['database', 'list-backups', '--json'], { ...s3Env(), NODE_EXTRA_CA_CERTS: missing });
    expect(run.exitCode).toBe(2);
    expect(run.json.error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(run.json.error.message).toContain(missing);
    expect(run.json.error.message).toContain('ENOENT');
  });

  it('a file without a certificate is a clear error naming it', async () => {
    const empty = join(dir, 'not-a-ca.pem');
    await writeFile(empty, 'hello\n');
    const run = await runCli(['database', 'list-backups', '--json'], { ...s3Env(), NODE_EXTRA_CA_CERTS: empty });
    expect(run.exitCode).toBe(2);
    expect(run.json.error.message).toContain(empty);
  });
});

describe('the Kubernetes API, its kubeconfig without a CA', () => {
  // The pod does not exist: "not found" (exit 4) means the TLS handshake was trusted.
  const findPod = (kubeconfig: string, env: Record<string, string> = {}) =>
    runCli(['database', 'backup', '--no-encryption', '--pod', 'timescaledb-7', '--kubeconfig', kubeconfig], { BACKUP_REPO: join(dir, 'repo'), ...env });

  it('trusts the CA named in NODE_EXTRA_CA_CERTS', async () => {
    const run = await findPod(api.writeKubeconfig({ withCa: false }), { NODE_EXTRA_CA_CERTS: api.caFile });
    expect(run.exitCode, run.stderr).toBe(4);
    expect(run.stderr).toContain('pods "timescaledb-7" not found');
  });

  it('refuses the server without it', async () => {
    const run = await findPod(api.writeKubeconfig({ withCa: false }));
    expect(run.exitCode).not.toBe(4);
    expect(run.stderr).toMatch(/certificate/i);
  });
});
