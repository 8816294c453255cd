import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BackupError, acquireBackupLock, writeMetadata, type BackupOptions } from '@llm-analytics/core';
import { openApiDocument } from '../src/openapi.js';
import { asOperator, asReader, metadataFixture, readSse, testApi, writeCatalog, type TestApi } from './support/fixtures.js';

/**
 * Every route through Hono's app.request(): no socket, a real fs repository, and stand-in
 * engines where a real one would need PostgreSQL (the socket tests run the real ones).
 */
const json = (body: unknown, headers: Record<string, string> = asOperator): RequestInit => ({ method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

/** A backup engine that reports progress and finishes when released, or fails when aborted. */
function gatedBackupEngine() {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const calls: BackupOptions[] = [];
  const engine = async (options: BackupOptions, deps: { progress?: (e: { phase: string; bytes?: number; totalBytes?: number }) => void }) => {
    calls.push(options);
    deps.progress?.({ phase: 'backup', bytes: 100, totalBytes: 1000 });
    await new Promise<void>((resolveRun, reject) => {
      options.signal?.addEventListener('abort', () => reject(new BackupError('CANCELLED', 'Backup was cancelled.')));
      void gate.then(resolveRun);
    });
    deps.progress?.({ phase: 'backup', bytes: 1000, totalBytes: 1000 });
    return { metadata: metadataFixture('backup-llm_analytics-20260101T000000Z-abcdef'), messages: [] };
  };
  return { engine, release, calls };
}

let api: TestApi;
afterEach(async () => api?.cleanup());

describe('authentication', () => {
  beforeEach(async () => (api = await testApi()));

  it('answers /healthz without a token', async () => {
    const response = await api.request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers 401 UNAUTHORIZED with a WWW-Authenticate header when no token is sent', async () => {
    const response = await api.request('/v1/backups');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await response.json()).error.code).toBe('UNAUTHORIZED');
  });

  it('answers 401 for a wrong token, also one that shares a prefix with a real one', async () => {
    for (const token of ['nope', `${asOperator.Authorization.slice(7, -1)}X`, '']) {
      const response = await api.request('/v1/backups', { headers: { Authorization: `Bearer ${token}` } });
      expect(response.status).toBe(401);
    }
  });

  it('lets a read token list backups and read metrics but answers 403 FORBIDDEN on every operate route', async () => {
    expect((await api.request('/v1/backups', { headers: asReader })).status).toBe(200);
    expect((await api.request('/metrics', { headers: asReader })).status).toBe(200);
    const operateRoutes: [string, RequestInit][] = [
      ['/v1/backups', json({}, asReader)],
      ['/v1/restores', json({}, asReader)],
      ['/v1/backups/backup-llm_analytics-20260101T000000Z-abcdef/verify', json({}, asReader)],
      ['/v1/jobs/job-20260101T000000Z-0123abcd', { method: 'DELETE', headers: asReader }],
    ];
    for (const [path, init] of operateRoutes) {
      const response = await api.request(path, init);
      expect(response.status, path).toBe(403);
      expect((await response.json()).error.code).toBe('FORBIDDEN');
    }
  });

  it('puts a request id in every response and a JSON access log line without the token', async () => {
    const response = await api.request('/v1/backups', { headers: { ...asReader, 'X-Request-Id': 'trace-123' } });
    expect(response.headers.get('x-request-id')).toBe('trace-123');
    const anonymous = await api.request('/healthz');
    expect(anonymous.headers.get('x-request-id')).toMatch(/^[0-9a-f]{16,}$/);
    const lines = api.logLines.map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ requestId: 'trace-123', method: 'GET', path: '/v1/backups', status: 200, role: 'read' });
    expect(api.logLines.join('\n')).not.toContain('read-token');
  });
});

describe('the catalog', () => {
  beforeEach(async () => (api = await testApi()));

  it('lists backups newest first in pages that follow nextCursor to the end', async () => {
    const ids = await writeCatalog(api.storage, 7);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await api.request(`/v1/backups?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { headers: asReader });
      expect(response.status).toBe(200);
      const page = await response.json();
      seen.push(...page.backups.map((b: { id: string }) => b.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
  });

  it('filters by database, status and type', async () => {
    await writeCatalog(api.storage, 3, 'llm_analytics');
    await writeCatalog(api.storage, 2, 'other_db', 'Failed');
    const byDb = await (await api.request('/v1/backups?database=other_db', { headers: asReader })).json();
    expect(byDb.backups.map((b: { database: string }) => b.database)).toEqual(['other_db', 'other_db']);
    const failed = await (await api.request('/v1/backups?status=Failed&type=Full', { headers: asReader })).json();
    expect(failed.backups).toHaveLength(2);
    const none = await (await api.request('/v1/backups?type=Incremental', { headers: asReader })).json();
    expect(none.backups).toEqual([]);
  });

  it('answers 400 with the zod path for a bad query and for unknown query fields', async () => {
    for (const [query, path] of [['limit=0', ['query', 'limit']], ['limit=abc', ['query', 'limit']], ['status=Done', ['query', 'status']], ['cursor=../../etc', ['query', 'cursor']], ['sort=asc', ['query']]] as const) {
      const response = await api.request(`/v1/backups?${query}`, { headers: asReader });
      expect(response.status, query).toBe(400);
      const body = await response.json();
      expect(body.error.code).toBe('INVALID_ARGUMENT');
      expect(body.error.path).toEqual(path);
    }
  });

  it('returns one backup with its chain and restorable window, 404 for an unknown id and 400 for a path-traversal id', async () => {
    const [id] = await writeCatalog(api.storage, 1);
    const found = await api.request(`/v1/backups/${id}`, { headers: asReader });
    expect(found.status).toBe(200);
    expect(await found.json()).toMatchObject({ id, status: 'Completed', chain: [id], restorableWindow: { from: expect.any(String) } });

    const missing = await api.request('/v1/backups/backup-llm_analytics-20200101T000000Z-000000', { headers: asReader });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('BACKUP_NOT_FOUND');

    for (const bad of ['..%2F..%2Fetc%2Fpasswd', '..', 'backup-llm_analytics-20260101T000000Z-abcdef%2F..%2F..']) {
      const response = await api.request(`/v1/backups/${bad}`, { headers: asReader });
      expect([400, 404], bad).toContain(response.status);
      const body = await response.json();
      expect(['INVALID_BACKUP_ID', 'ROUTE_NOT_FOUND'], bad).toContain(body.error.code);
    }
    expect((await api.request('/v1/backups/..%2F..%2Fetc%2Fpasswd', { headers: asReader })).status).toBe(400);
  });

  it('sees a backup the CLI writes after the listing was cached, within the listing TTL', async () => {
    expect((await (await api.request('/v1/backups', { headers: asReader })).json()).backups).toHaveLength(0);
    await writeCatalog(api.storage, 1);
    const written = Date.now();
    let seen = 0;
    while (seen === 0 && Date.now() - written < 5000) {
      await new Promise((r) => setTimeout(r, 100));
      seen = (await (await api.request('/v1/backups', { headers: asReader })).json()).backups.length;
    }
    expect(seen).toBe(1);
    // The listing TTL (2 s) plus one LIST in the background.
    expect(Date.now() - written).toBeLessThan(3000);
  });

  it('computes stats over the catalog', async () => {
    await writeCatalog(api.storage, 4);
    const stats = await (await api.request('/v1/stats', { headers: asReader })).json();
    expect(stats).toMatchObject({ totalBackups: 4, totalSizeBytes: 4000, fullBackups: 4 });
  });
});

describe('starting a backup', () => {
  it('answers 202 with a job whose SSE stream carries progress with rate and ends with the result', async () => {
    const gated = gatedBackupEngine();
    api = await testApi({ engines: { backup: gated.engine } });
    const response = await api.request('/v1/backups', json({ compression: 'lz4', encryption: false }));
    expect(response.status).toBe(202);
    const job = await response.json();
    expect(job).toMatchObject({ kind: 'backup', state: 'queued', database: 'llm_analytics' });
    expect(response.headers.get('location')).toBe(`/v1/jobs/${job.id}`);
    setTimeout(gated.release, 50);
    const events = await readSse(await api.request(`/v1/jobs/${job.id}/events`, { headers: asReader }));
    expect(events.map((e) => e.event)).toEqual(['state', 'state', 'progress', 'progress', 'result']);
    expect(events.map((e) => Number(e.id))).toEqual([1, 2, 3, 4, 5]);
    expect(events[4]!.data).toMatchObject({ state: 'succeeded', result: { id: 'backup-llm_analytics-20260101T000000Z-abcdef' } });
    expect(gated.calls[0]).toMatchObject({ type: 'Full', config: { compression: 'lz4', encryption: false }, lockOwner: { tool: 'api', jobId: job.id } });
    const done = await (await api.request(`/v1/jobs/${job.id}`, { headers: asReader })).json();
    expect(done).toMatchObject({ state: 'succeeded', progress: { bytes: 1000 } });
  });

  it('resumes the event stream after Last-Event-ID without repeating or losing events', async () => {
    const gated = gatedBackupEngine();
    api = await testApi({ engines: { backup: gated.engine } });
    const job = await (await api.request('/v1/backups', json({ encryption: false }))).json();
    gated.release();
    const all = await readSse(await api.request(`/v1/jobs/${job.id}/events`, { headers: asReader }));
    const resumed = await readSse(await api.request(`/v1/jobs/${job.id}/events`, { headers: { ...asReader, 'Last-Event-ID': '3' } }));
    expect(resumed.map((e) => e.id)).toEqual(all.slice(3).map((e) => e.id));
    expect(resumed.at(-1)!.event).toBe('result');
  });

  it('answers 409 BACKUP_IN_PROGRESS naming the running job for a second backup of the same database', async () => {
    const gated = gatedBackupEngine();
    api = await testApi({ engines: { backup: gated.engine } });
    const first = await (await api.request('/v1/backups', json({ encryption: false }))).json();
    const second = await api.request('/v1/backups', json({ encryption: false }));
    expect(second.status).toBe(409);
    const body = await second.json();
    expect(body.error.code).toBe('BACKUP_IN_PROGRESS');
    expect(body.error.message).toContain(first.id);
    const otherDb = await api.request('/v1/backups', json({ encryption: false, database: 'other_db' }));
    expect(otherDb.status).toBe(202);
    gated.release();
  });

  it('answers 409 naming the holder when the repository lock is held by another process', async () => {
    api = await testApi({ engines: { backup: gatedBackupEngine().engine } });
    const lock = await acquireBackupLock(api.storage, 'llm_analytics', { owner: { tool: 'cli', pid: 4242 } });
    const response = await api.request('/v1/backups', json({ encryption: false }));
    expect(response.status).toBe(409);
    expect((await response.json()).error.message).toMatch(/cli process 4242/);
    await lock.release();
    expect((await api.request('/v1/backups', json({ encryption: false }))).status).toBe(202);
  });

  it('cancels a running job with DELETE: the engine sees the abort and the job ends cancelled', async () => {
    const gated = gatedBackupEngine();
    api = await testApi({ engines: { backup: gated.engine } });
    const job = await (await api.request('/v1/backups', json({ encryption: false }))).json();
    await new Promise((r) => setTimeout(r, 20));
    const cancel = await api.request(`/v1/jobs/${job.id}`, { method: 'DELETE', headers: asOperator });
    expect(cancel.status).toBe(202);
    const events = await readSse(await api.request(`/v1/jobs/${job.id}/events`, { headers: asReader }));
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { state: 'cancelled', error: { code: 'CANCELLED' } } });
    expect(gated.calls[0]!.signal!.aborted).toBe(true);
    const again = await api.request(`/v1/jobs/${job.id}`, { method: 'DELETE', headers: asOperator });
    expect(again.status).toBe(200);
  });

  it('refuses encryption without a key up front with 400 ENCRYPTION_KEY_MISSING, not as a failed job', async () => {
    api = await testApi({ engines: { backup: gatedBackupEngine().engine } });
    const response = await api.request('/v1/backups', json({}));
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe('ENCRYPTION_KEY_MISSING');
    expect(api.jobs.list()).toEqual([]);
  });

  it('answers 400 for malformed JSON, unknown fields, wrong types and a bad database name', async () => {
    api = await testApi({ engines: { backup: gatedBackupEngine().engine } });
    const cases: [string | object, (string | number)[]][] = [
      ['{"type": ', ['body']],
      [{ type: 'Full', dropTables: true }, ['body']],
      [{ type: 'Weekly' }, ['body', 'type']],
      [{ compression: 7 }, ['body', 'compression']],
      [{ database: 'x; DROP TABLE y' }, ['body', 'database']],
      [[1, 2], ['body']],
    ];
    for (const [body, path] of cases) {
      const response = await api.request('/v1/backups', json(body));
      expect(response.status, JSON.stringify(body)).toBe(400);
      const error = (await response.json()).error;
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.path).toEqual(path);
    }
    const unknown = await (await api.request('/v1/backups', json({ dropTables: true }))).json();
    expect(unknown.error.message).toContain('"dropTables"');
  });

  it('answers 413 REQUEST_TOO_LARGE for an oversized body', async () => {
    api = await testApi({ maxBodyBytes: 1024 });
    const response = await api.request('/v1/backups', json({ database: 'x'.repeat(5000) }));
    expect(response.status).toBe(413);
    expect((await response.json()).error.code).toBe('REQUEST_TOO_LARGE');
  });
});

describe('restores, verification and WAL status', () => {
  it('requires confirm equal to the backup id, then runs the restore engine as a job', async () => {
    const calls: unknown[] = [];
    api = await testApi({ engines: { planRestore: async () => {}, restore: async (options) => (calls.push(options), { success: true, backupId: options.backupId!, pgdata: options.pgdata, durationSeconds: 1, restoredSizeBytes: 1, messages: [] }) } });
    const [id] = await writeCatalog(api.storage, 1);
    const unconfirmed = await api.request('/v1/restores', json({ backupId: id, pgdata: '/tmp/x', confirm: 'yes' }));
    expect(unconfirmed.status).toBe(400);
    expect((await unconfirmed.json()).error.code).toBe('CONFIRMATION_REQUIRED');

    const accepted = await api.request('/v1/restores', json({ backupId: id, pgdata: '/tmp/x', confirm: id, port: 6543 }));
    expect(accepted.status).toBe(202);
    const job = await accepted.json();
    expect(job.params).not.toHaveProperty('confirm');
    const events = await readSse(await api.request(`/v1/jobs/${job.id}/events`, { headers: asReader }));
    expect(events.at(-1)).toMatchObject({ event: 'result', data: { state: 'succeeded', result: { success: true, backupId: id } } });
    expect(calls[0]).toMatchObject({ backupId: id, pgdata: '/tmp/x', port: 6543, force: true, start: true });
  });

  it('answers 404 for a restore of an unknown backup and 400 for a relative data directory', async () => {
    api = await testApi();
    const id = 'backup-llm_analytics-20200101T000000Z-000000';
    expect((await api.request('/v1/restores', json({ backupId: id, pgdata: '/tmp/x', confirm: id }))).status).toBe(404);
    const relative = await api.request('/v1/restores', json({ backupId: id, pgdata: '../x', confirm: id }));
    expect(relative.status).toBe(400);
    expect((await relative.json()).error.path).toEqual(['body', 'pgdata']);
  });

  it('refuses PITR without a wal-fetch command (501), a target without a time zone (400 INVALID_TIMESTAMP) and one before the backup ended (422 PITR_OUT_OF_RANGE) before any job starts', async () => {
    api = await testApi();
    const [unconfiguredId] = await writeCatalog(api.storage, 1);
    const unconfigured = await api.request('/v1/restores', json({ backupId: unconfiguredId, pgdata: '/tmp/api-pitr-x', confirm: unconfiguredId, pitrTarget: '2026-01-01T00:00:00Z' }));
    expect(unconfigured.status).toBe(501);
    await api.cleanup();
    api = await testApi({ walFetchCommand: ['/bin/false'] });
    const id = 'backup-llm_analytics-20260101T000000Z-aaaaaa';
    const walFacts = { systemIdentifier: '7300000000000000001', startWalSegment: '000000010000000000000002', endWalSegment: '000000010000000000000002', startLsn: '0/2000028', endLsn: '0/2000100', timeline: 1 };
    await writeMetadata(api.storage, metadataFixture(id, walFacts));
    const noZone = await api.request('/v1/restores', json({ backupId: id, pgdata: '/tmp/api-pitr-x', confirm: id, pitrTarget: '2026-01-01 00:00:00' }));
    expect(noZone.status).toBe(400);
    expect((await noZone.json()).error.code).toBe('INVALID_TIMESTAMP');
    const early = await api.request('/v1/restores', json({ backupId: id, pgdata: '/tmp/api-pitr-x', confirm: id, pitrTarget: '2020-01-01T00:00:00Z' }));
    const body = await early.json();
    expect(early.status, JSON.stringify(body)).toBe(422);
    expect(body.error.code).toBe('PITR_OUT_OF_RANGE');
    const two = await api.request('/v1/restores', json({ backupId: id, pgdata: '/tmp/api-pitr-x', confirm: id, pitrTarget: '2026-01-01T00:00:00Z', pitrLsn: '0/3000000' }));
    expect(two.status).toBe(400);
    expect(api.jobs.list()).toEqual([]);
  });

  it('reports the WAL archive status (no clusters in an empty archive)', async () => {
    api = await testApi();
    const response = await api.request('/v1/wal/status', { headers: asReader });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ clusters: [] });
  });

  it('answers 501 NOT_IMPLEMENTED for verify and WAL status when core has no engine for them', async () => {
    api = await testApi({ engines: { verify: undefined, walStatus: undefined } });
    const [id] = await writeCatalog(api.storage, 1);
    const verify = await api.request(`/v1/backups/${id}/verify`, json({ testRestore: false }));
    expect(verify.status).toBe(501);
    expect((await verify.json()).error.code).toBe('NOT_IMPLEMENTED');
    expect((await api.request('/v1/wal/status', { headers: asReader })).status).toBe(501);
  });

  it('runs an injected verify engine as a job, sends each check row as a check event before the result, and answers 404 for an unknown backup', async () => {
    const rows = [
      { name: 'Objects present', status: 'pass' as const, message: 'base.tar.zst present' },
      { name: 'Checksum', status: 'fail' as const, message: 'SHA-256 of base.tar.zst differs' },
    ];
    api = await testApi({
      engines: {
        verify: async ({ backupId, testRestore }, { onCheck }) => {
          for (const row of rows) onCheck?.(row);
          return { backupId, valid: false, testRestore, checks: rows };
        },
      },
    });
    const [id] = await writeCatalog(api.storage, 1);
    const response = await api.request(`/v1/backups/${id}/verify`, json({ testRestore: true }));
    expect(response.status).toBe(202);
    const events = await readSse(await api.request(`/v1/jobs/${(await response.json()).id}/events`, { headers: asReader }));
    expect(events.map((e) => e.event)).toEqual(['state', 'state', 'check', 'check', 'result']);
    expect(events.filter((e) => e.event === 'check').map((e) => e.data)).toEqual(rows);
    expect(events.at(-1)!.data).toMatchObject({ state: 'succeeded', result: { backupId: id, valid: false, testRestore: true } });
    expect((await api.request('/v1/backups/backup-llm_analytics-20200101T000000Z-000000/verify', json({}))).status).toBe(404);
  });
});

describe('jobs', () => {
  beforeEach(async () => (api = await testApi()));

  it('answers 404 JOB_NOT_FOUND for an unknown job and 400 for a malformed job id', async () => {
    const unknown = await api.request('/v1/jobs/job-20260101T000000Z-0123abcd', { headers: asReader });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('JOB_NOT_FOUND');
    for (const path of ['/v1/jobs/..%2F..%2Fetc', '/v1/jobs/x/events']) {
      const response = await api.request(path, { headers: asReader });
      expect(response.status, path).toBe(400);
    }
    expect((await api.request('/v1/jobs', { headers: asReader })).status).toBe(200);
  });

  it('answers 404 ROUTE_NOT_FOUND in the error shape for an unknown route', async () => {
    const response = await api.request('/v2/everything', { headers: asReader });
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe('ROUTE_NOT_FOUND');
  });
});

describe('metrics and the OpenAPI document', () => {
  it('exposes the last good backup per database, counts by status and job totals in Prometheus text', async () => {
    const gated = gatedBackupEngine();
    api = await testApi({ engines: { backup: gated.engine } });
    await writeCatalog(api.storage, 3);
    await writeCatalog(api.storage, 1, 'llm_analytics', 'Failed');
    const job = await (await api.request('/v1/backups', json({ encryption: false }))).json();
    gated.release();
    await readSse(await api.request(`/v1/jobs/${job.id}/events`, { headers: asReader }));
    const response = await api.request('/metrics', { headers: asReader });
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^llm_analytics_backup_last_success_timestamp_seconds\{database="llm_analytics"\} \d+$/m);
    expect(text).toMatch(/^llm_analytics_backup_last_success_age_seconds\{database="llm_analytics"\} [\d.]+$/m);
    expect(text).toContain('llm_analytics_backup_last_success_size_bytes{database="llm_analytics"} 1000');
    expect(text).toContain('llm_analytics_backup_last_success_duration_seconds{database="llm_analytics"} 60');
    expect(text).toContain('llm_analytics_backups{database="llm_analytics",status="Completed"} 3');
    expect(text).toContain('llm_analytics_backups{database="llm_analytics",status="Failed"} 1');
    expect(text).toContain('llm_analytics_api_jobs_finished_total{kind="backup",state="succeeded"} 1');
    expect(text).toMatch(/^# TYPE llm_analytics_api_http_requests_total counter$/m);
  });

  it('serves /openapi.json without a token, equal to the committed docs/openapi.json', async () => {
    api = await testApi();
    const response = await api.request('/openapi.json');
    expect(response.status).toBe(200);
    const served = await response.json();
    expect(Object.keys(served.paths)).toEqual(expect.arrayContaining(['/v1/backups', '/v1/backups/{id}', '/v1/restores', '/v1/jobs/{id}/events', '/metrics']));
    expect(served.components.schemas.BackupMetadata.properties.status.enum).toEqual(['InProgress', 'Completed', 'Failed', 'Verified']);
    const committed = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../docs/openapi.json'), 'utf8'));
    expect(committed).toEqual(openApiDocument());
  });
});
