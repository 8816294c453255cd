import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { S3Storage, type S3StorageOptions } from '../src/storage/s3.js';

/**
 * The S3 API server of the integration tests: OpenStack Swift with its s3api middleware, run by
 * scripts/s3-test-server.sh on a free loopback port (see docs in that script).
 */

/** The KEY=VALUE lines the script prints: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL, ... */
export type S3TestEnv = Record<string, string>;

declare module 'vitest' {
  export interface ProvidedContext {
    s3Env: S3TestEnv;
  }
}

const execFileAsync = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, '../../../scripts/s3-test-server.sh');

export interface RunningS3Server {
  env: S3TestEnv;
  dir: string;
  stop(): Promise<void>;
}

/** Starts a fresh server in a temp directory; fails with the script's own words if it cannot. */
export async function startS3TestServer(): Promise<RunningS3Server> {
  const dir = await mkdtemp(join(tmpdir(), 'llm-analytics-s3-'));
  const forgetExitStop = stopWhenProcessEnds(dir);
  const stop = async (): Promise<void> => {
    await execFileAsync('bash', [SCRIPT, 'stop', dir]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    forgetExitStop();
  };
  let lastError = '';
  // A free port can be taken between our probe and the server's bind: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeLoopbackPort();
    try {
      const { stdout } = await execFileAsync('bash', [SCRIPT, 'start', dir, String(port)], { timeout: 300_000, maxBuffer: 1 << 20 });
      return { env: parseEnvLines(stdout), dir, stop };
    } catch (error) {
      const { stderr, message } = error as { stderr?: string; message: string };
      lastError = (stderr || message).trim();
      if (!/port \d+ is in use/.test(lastError)) break;
    }
  }
  await stop();
  throw new Error(`The S3 test server (scripts/s3-test-server.sh) did not start:\n${lastError}`);
}

/**
 * The server's processes run in sessions of their own (the script uses setsid), so nothing stops
 * them if the test run dies before its teardown: stop them from the exit and signal handlers too.
 */
function stopWhenProcessEnds(dir: string): () => void {
  const stopSync = (): void => {
    spawnSync('bash', [SCRIPT, 'stop', dir], { stdio: 'ignore', timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (signal: NodeJS.Signals): void => {
    forget();
    stopSync();
    // Leave the signal's own effect (ending the process) to other listeners, or to Node.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const forget = (): void => {
    process.removeListener('exit', stopSync);
    for (const signal of signals) process.removeListener(signal, onSignal);
  };
  process.once('exit', stopSync);
  for (const signal of signals) process.on(signal, onSignal);
  return forget;
}

export function parseEnvLines(text: string): S3TestEnv {
  const env: S3TestEnv = {};
  for (const line of text.split('\n')) {
    const equals = line.indexOf('=');
    if (equals > 0) env[line.slice(0, equals)] = line.slice(equals + 1).trim();
  }
  if (!env.AWS_ENDPOINT_URL || !env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
    throw new Error(`The S3 test server printed no usable environment:\n${text}`);
  }
  return env;
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done, fail) => server.once('error', fail).listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise((done) => server.close(done));
  if (address === null || typeof address === 'string') throw new Error('no TCP address for a free port');
  return address.port;
}

/**
 * The environment the global setup provided (inside a test file only). Imported lazily: the
 * global setup, which runs outside the test workers, imports this module too.
 */
export async function s3TestEnv(): Promise<S3TestEnv> {
  const { inject } = await import('vitest');
  return inject('s3Env');
}

/** A raw SDK client on the test server, for setting up and inspecting what a test did. */
export function testS3Client(env: S3TestEnv): S3Client {
  return new S3Client({
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** S3Storage options pointing at the test server, with its credentials. */
export function testStorageOptions(bucket: string, env: S3TestEnv): S3StorageOptions {
  return {
    bucket,
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' },
  };
}

export interface TestBucket {
  bucket: string;
  storage: S3Storage;
  client: S3Client;
  env: S3TestEnv;
  /** Multipart uploads not completed nor aborted in the bucket (a failed put must leave none). */
  pendingUploads(): Promise<number>;
  /** Removes every object, pending upload and the bucket itself. */
  cleanup(): Promise<void>;
}

/** A fresh bucket with a unique name, and an S3Storage on it (extra options: prefix, pageSize, ...). */
export async function createTestBucket(options: Partial<S3StorageOptions> = {}): Promise<TestBucket> {
  const env = await s3TestEnv();
  const client = testS3Client(env);
  const bucket = `test-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const storage = new S3Storage({ ...testStorageOptions(bucket, env), ...options });
  const pendingUploads = async (): Promise<number> =>
    (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads?.length ?? 0;
  const cleanup = async (): Promise<void> => {
    await emptyBucket(client, bucket);
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    client.destroy();
  };
  return { bucket, storage, client, env, pendingUploads, cleanup };
}

async function emptyBucket(client: S3Client, bucket: string): Promise<void> {
  const uploads = (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
  for (const upload of uploads) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
  }
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    if (!page.Contents?.length) return;
    // One by one: DeleteObjects needs the Content-MD5 middleware S3Storage adds (Swift's rule).
    for (const object of page.Contents) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
  }
}
