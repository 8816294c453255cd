import { Hono } from 'hono';
import { BackupError, backupStats, describeLockHolder, isRestorable, listArchivedSegments, lockIsExpired, parseBackupId, planBackup, readBackupLock, restorableWindow, type BackupMetadata } from '@llm-analytics/core';
import { jsonBody, queryParams } from '../requestInput.js';
import { CreateBackupBody, ListBackupsQuery, VerifyBackupBody } from '../schemas.js';
import { requireOperate } from '../middleware.js';
import type { AppContext } from '../context.js';
import type { ApiEnv } from '../types.js';

/** The catalog (read) and starting backups and verifications (operate). */
export function backupRoutes(ctx: AppContext): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();

  // Rendered pages per listing: a listing is immutable and each backup.json in it is read once,
  // so the same query over the same listing renders the same page. A new listing starts afresh.
  const pageCache = new WeakMap<object, Map<string, string>>();

  routes.get('/v1/backups', async (c) => {
    const query = queryParams(c, ListBackupsQuery);
    const listing = await ctx.catalog.version();
    const key = JSON.stringify(query);
    let pages = pageCache.get(listing);
    if (!pages) pageCache.set(listing, (pages = new Map()));
    const cached = pages.get(key);
    if (cached) return c.body(cached, 200, { 'Content-Type': 'application/json' });
    const { text, complete } = await renderPage(ctx, query);
    if (complete && pages.size < 1000) pages.set(key, text);
    return c.body(text, 200, { 'Content-Type': 'application/json' });
  });

  async function renderPage(ctx: AppContext, query: ReturnType<typeof ListBackupsQuery.parse>): Promise<{ text: string; complete: boolean }> {
    let complete = true;
    let ids = await ctx.catalog.ids();
    if (query.database) ids = ids.filter((id) => parseBackupId(id).database === query.database!.toLowerCase());
    if (query.cursor) {
      const index = ids.indexOf(query.cursor);
      // A cursor whose backup was expired meanwhile: continue after where it would sort.
      ids = index >= 0 ? ids.slice(index + 1) : ids.filter((id) => parseBackupId(id).time <= parseBackupId(query.cursor!).time && id !== query.cursor);
    }
    const page = [];
    let last: string | undefined;
    for (const id of ids) {
      if (page.length === query.limit) break;
      last = id;
      const metadata = await ctx.catalog.get(id).catch(() => undefined);
      if (!metadata) {
        complete = false;
        continue;
      }
      if (query.status && metadata.status !== query.status) continue;
      if (query.type && metadata.type !== query.type) continue;
      page.push(metadata);
    }
    const more = last !== undefined && ids.indexOf(last) < ids.length - 1 && page.length === query.limit;
    return { text: JSON.stringify({ backups: page, nextCursor: more ? last! : null }), complete };
  }

  routes.get('/v1/backups/:id', async (c) => {
    const id = c.req.param('id');
    parseBackupId(id);
    const metadata = await ctx.catalog.get(id);
    if (!metadata) throw new BackupError('BACKUP_NOT_FOUND', `No backup "${id}" in ${ctx.storage.location}.`, 'GET /v1/backups lists the backups there.');
    const chain = metadata.parentId ? [metadata.parentId, metadata.id] : [metadata.id];
    return c.json({ ...metadata, chain, restorableWindow: await windowOf(ctx, metadata) });
  });

  routes.get('/v1/stats', async (c) => c.json(backupStats(await ctx.catalog.all(), ctx.now())));

  routes.post('/v1/backups', requireOperate(), async (c) => {
    const body = await jsonBody(c, CreateBackupBody);
    const database = body.database ?? ctx.config.database;
    const config = {
      ...ctx.config,
      database,
      compression: body.compression ?? ctx.config.compression,
      encryption: body.encryption ?? ctx.config.encryption,
      retentionDays: body.retentionDays ?? ctx.config.retentionDays,
    };
    // Refused up front (400), not as a failed job: a missing key, an unsupported type.
    planBackup({ config, type: body.type }, { storage: ctx.storage, host: ctx.host });
    const running = ctx.jobs.active('backup', database);
    if (running) {
      throw new BackupError('BACKUP_IN_PROGRESS', `A backup of database "${database}" is already running: API job ${running.id}.`, `Follow it at /v1/jobs/${running.id}/events, or cancel it with DELETE /v1/jobs/${running.id}.`);
    }
    const lock = await readBackupLock(ctx.storage, database);
    if (lock && !lockIsExpired(lock, ctx.now())) {
      throw new BackupError('BACKUP_IN_PROGRESS', `A backup of database "${database}" is already running: ${describeLockHolder(lock)} (lock expires ${lock.expiresAt}).`, 'Wait for it to finish, then try again.');
    }
    const job = ctx.jobs.start('backup', database, { ...body, database }, async ({ signal, jobId, progress }) => {
      try {
        const result = await ctx.engines.backup({ config, type: body.type, signal, lockOwner: { tool: 'api', jobId } }, { storage: ctx.storage, host: ctx.host, progress });
        return result.metadata;
      } finally {
        ctx.catalog.invalidate();
      }
    });
    c.header('Location', `/v1/jobs/${job.id}`);
    return c.json(job, 202);
  });

  routes.post('/v1/backups/:id/verify', requireOperate(), async (c) => {
    const id = c.req.param('id');
    parseBackupId(id);
    const body = await jsonBody(c, VerifyBackupBody);
    const verify = ctx.engines.verify;
    if (!verify) throw new BackupError('NOT_IMPLEMENTED', 'Backup verification is not available in this build of the server.', 'Use `llm-analytics database verify-backup` where available, or upgrade the server.');
    if (!(await ctx.catalog.get(id))) throw new BackupError('BACKUP_NOT_FOUND', `No backup "${id}" in ${ctx.storage.location}.`, 'GET /v1/backups lists the backups there.');
    const job = ctx.jobs.start('verify', parseBackupId(id).database, { backupId: id, ...body }, async ({ signal, progress, check }) => {
      try {
        return await verify({ config: ctx.config, backupId: id, testRestore: body.testRestore, signal }, { storage: ctx.storage, host: ctx.host, progress, onCheck: check });
      } finally {
        ctx.catalog.invalidate();
      }
    });
    c.header('Location', `/v1/jobs/${job.id}`);
    return c.json(job, 202);
  });

  return routes;
}

/**
 * What a restore of this backup can reach: from its end through the unbroken chain of archived
 * WAL after it (core's restorableWindow); just its end when no WAL is archived; null when it is
 * not restorable.
 */
async function windowOf(ctx: AppContext, metadata: BackupMetadata): Promise<object | null> {
  if (!isRestorable(metadata) || !metadata.endTime) return null;
  if (metadata.systemIdentifier) {
    const window = restorableWindow(metadata, await listArchivedSegments(ctx.storage, metadata.systemIdentifier));
    if (window) return window;
  }
  return { from: metadata.endTime, to: metadata.endTime };
}
