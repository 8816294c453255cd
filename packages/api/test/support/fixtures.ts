import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStorage, LocalHost, newBackupId, resolveConfig, writeMetadata, type BackupMetadata, type Storage } from '@llm-analytics/core';
import { createApp, type BuiltApp } from '../../src/app.js';
import type { Engines, Role } from '../../src/types.js';

export const OPERATE_TOKEN = 'operate-token-0123456789abcdef';
export const READ_TOKEN = 'read-token-0123456789abcdef0123';

export const asOperator = { Authorization: `Bearer ${OPERATE_TOKEN}` };
export const asReader = { Authorization: `Bearer ${READ_TOKEN}` };

export function metadataFixture(id: string, overrides: Partial<BackupMetadata> = {}): BackupMetadata {
  const start = new Date(Date.UTC(2026, 0, 1));
  return {
    formatVersion: 1,
    id,
    database: 'llm_analytics',
    type: 'Full',
    status: 'Completed',
    startTime: start.toISOString(),
    endTime: new Date(start.getTime() + 60_000).toISOString(),
    durationSeconds: 60,
    location: '/repo',
    compression: 'zstd',
    encrypted: false,
    sizeBytes: 1000,
    storedSizeBytes: 400,
    objects: [],
    retentionDays: 30,
    ...overrides,
  };
}

/** Writes `count` metadata-only backups, one minute apart; returns their ids, newest first. */
export async function writeCatalog(storage: Storage, count: number, database = 'llm_analytics', status: BackupMetadata['status'] = 'Completed'): Promise<string[]> {
  const ids: string[] = [];
  const base = Date.UTC(2026, 0, 1);
  for (let i = 0; i < count; i++) {
    const time = new Date(base + i * 60_000);
    const id = newBackupId(database, time);
    await writeMetadata(storage, metadataFixture(id, { database, status, startTime: time.toISOString(), endTime: new Date(time.getTime() + 30_000).toISOString() }));
    ids.push(id);
  }
  return ids.reverse();
}

export interface TestApi extends BuiltApp {
  storage: FsStorage;
  dir: string;
  logLines: string[];
  request(path: string, init?: RequestInit): Promise<Response>;
  cleanup(): Promise<void>;
}

export async function testApi(options: { engines?: Partial<Engines>; tokens?: Map<string, Role>; maxBodyBytes?: number; env?: Record<string, string>; walFetchCommand?: string[] } = {}): Promise<TestApi> {
  const dir = await mkdtemp(join(tmpdir(), 'api-test-'));
  const storage = new FsStorage(join(dir, 'repo'));
  const config = resolveConfig({ repo: join(dir, 'repo') }, { HOME: dir, ...options.env });
  const logLines: string[] = [];
  const tokens = options.tokens ?? new Map<string, Role>([[OPERATE_TOKEN, 'operate'], [READ_TOKEN, 'read']]);
  const built = createApp({ config, storage, host: new LocalHost(), tokens, engines: options.engines, walFetchCommand: options.walFetchCommand, maxBodyBytes: options.maxBodyBytes, log: (line) => logLines.push(line) });
  return {
    ...built,
    storage,
    dir,
    logLines,
    request: (path, init) => Promise.resolve(built.app.request(path, init)),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Reads an SSE response to its end: [{id, event, data}]. */
export async function readSse(response: Response): Promise<{ id?: string; event?: string; data: any }[]> {
  const text = await response.text();
  return parseSse(text);
}

export function parseSse(text: string): { id?: string; event?: string; data: any }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        const at = line.indexOf(':');
        if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1).trimStart();
      }
      return { id: fields.id, event: fields.event, data: fields.data ? JSON.parse(fields.data) : undefined };
    });
}
