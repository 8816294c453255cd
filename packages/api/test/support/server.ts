import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { serve, type ServerType } from '@hono/node-server';
import { LocalHost, openStorage, resolveConfig, type Storage } from '@llm-analytics/core';
import { testStorageOptions, type TestBucket } from '../../../core/test-support/s3Server.js';
import type { Cluster } from '../../../core/test-support/pgCluster.js';
import { createApp, type BuiltApp } from '../../src/app.js';
import { OPERATE_TOKEN, READ_TOKEN, parseSse } from './fixtures.js';

export const PASSPHRASE = 'api socket test passphrase, never printed';

/**
 * Holds back the upload of backup data until opened: pg_basebackup then waits on backpressure,
 * so a test can act while a real backup is running (cancel it, start a second one).
 */
export class UploadGate {
  private open = true;
  private opened: Promise<void> = Promise.resolve();
  private release: () => void = () => {};

  close(): void {
    this.open = false;
    this.opened = new Promise((resolve) => (this.release = resolve));
  }

  openGate(): void {
    this.open = true;
    this.release();
  }

  wrap(storage: Storage): Storage {
    const gate = this;
    return new Proxy(storage, {
      get(target, property) {
        if (property !== 'put') {
          const value = Reflect.get(target, property);
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return async (key: string, body: Readable | Buffer, options?: { signal?: AbortSignal }) => {
          if (!gate.open && /\/base\.tar/.test(key)) {
            await new Promise<void>((resolve, reject) => {
              options?.signal?.addEventListener('abort', () => resolve(), { once: true });
              void gate.opened.then(resolve, reject);
            });
          }
          return target.put(key, body, options);
        };
      },
    });
  }
}

export interface SocketApi extends BuiltApp {
  url: string;
  storage: Storage;
  repoUrl: string;
  /** The environment a CLI needs for the same repository and database. */
  cliEnv: Record<string, string>;
  call(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  close(): Promise<void>;
}

export function repositoryEnv(bucket: TestBucket, prefix: string, cluster: Cluster): Record<string, string> {
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION } = bucket.env;
  return {
    ...cluster.env,
    BACKUP_REPO: `s3://${bucket.bucket}/${prefix}`,
    AWS_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID!,
    AWS_SECRET_ACCESS_KEY: AWS_SECRET_ACCESS_KEY!,
    AWS_ENDPOINT_URL: AWS_ENDPOINT_URL!,
    AWS_REGION: AWS_REGION!,
    BACKUP_ENCRYPTION_PASSPHRASE: PASSPHRASE,
  };
}

/** The API over a real socket on 127.0.0.1, against the S3 test server and a harness cluster. */
export async function startSocketApi(bucket: TestBucket, prefix: string, cluster: Cluster, gate?: UploadGate): Promise<SocketApi> {
  const env = repositoryEnv(bucket, prefix, cluster);
  const config = resolveConfig({}, env);
  const s3 = openStorage(config.repository, { credentials: testStorageOptions(bucket.bucket, bucket.env).credentials });
  const storage = gate ? gate.wrap(s3) : s3;
  const tokens = new Map([[OPERATE_TOKEN, 'operate' as const], [READ_TOKEN, 'read' as const]]);
  const built = createApp({ config, storage, host: new LocalHost(), tokens, log: () => {} });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: built.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...built,
    url,
    storage,
    repoUrl: env.BACKUP_REPO!,
    cliEnv: env,
    call: (path, init = {}) => fetch(`${url}${path}`, { ...init, headers: { Authorization: `Bearer ${init.token ?? OPERATE_TOKEN}`, 'Content-Type': 'application/json', ...(init.headers as Record<string, string>) } }),
    close: async () => {
      built.jobs.cancelAll();
      await built.jobs.waitForActive(60_000);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Follows a job's SSE stream over the socket until the server ends it; calls onEvent as events arrive. */
export async function followEvents(url: string, jobId: string, onEvent: (event: { id?: string; event?: string; data: any }) => void = () => {}, token = READ_TOKEN): Promise<{ id?: string; event?: string; data: any }[]> {
  const response = await fetch(`${url}/v1/jobs/${jobId}/events`, { headers: { Authorization: `Bearer ${token}` } });
  if (response.status !== 200) throw new Error(`events answered ${response.status}: ${await response.text()}`);
  const events: { id?: string; event?: string; data: any }[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    const end = buffer.lastIndexOf('\n\n');
    if (end < 0) continue;
    for (const event of parseSse(buffer.slice(0, end + 2))) {
      events.push(event);
      onEvent(event);
    }
    buffer = buffer.slice(end + 2);
  }
  return events;
}

/** Resolves when a job reports the message (e.g. "started"), following its events. */
export function waitForMessage(url: string, jobId: string, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    followEvents(url, jobId, (event) => {
      if (event.event === 'progress' && pattern.test(event.data?.message ?? '')) resolve();
    }).then(() => reject(new Error(`job ${jobId} ended before a message matching ${pattern}`)), reject);
  });
}
