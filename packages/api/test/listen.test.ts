import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopback, runServer } from '../src/server.js';

/** Where the API may listen: loopback freely, anything else only behind bearer tokens. */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'api-listen-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('listening', () => {
  it('knows loopback addresses from the others', () => {
    expect(['127.0.0.1', '127.0.0.2', 'localhost', '::1'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '192.168.1.2', '::', 'example.com'].some(isLoopback)).toBe(false);
  });

  it('refuses to listen on a non-loopback address without a token, before opening any socket', async () => {
    await expect(runServer({ host: '0.0.0.0', port: 0, env: { BACKUP_REPO: join(dir, 'repo') }, handleSignals: false, log: () => {} })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('0.0.0.0'),
    });
  });

  it('listens on a loopback address without tokens, and answers /healthz', async () => {
    const server = await runServer({ host: '127.0.0.1', port: 0, env: { BACKUP_REPO: join(dir, 'repo') }, handleSignals: false, log: () => {} });
    try {
      const response = await fetch(`${server.url}/healthz`);
      expect(response.status).toBe(200);
    } finally {
      await server.shutdown('test');
    }
  });
});
