import { Hono } from 'hono';
import { BackupError, pitrTargetFrom, type RestoreOptions } from '@llm-analytics/core';
import { requireOperate } from '../middleware.js';
import { jsonBody } from '../requestInput.js';
import { CreateRestoreBody } from '../schemas.js';
import type { AppContext } from '../context.js';
import type { ApiEnv } from '../types.js';

/** Restores: a job, only with `confirm` equal to the backup id or the target (the API's --force). */
export function restoreRoutes(ctx: AppContext): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  routes.post('/v1/restores', requireOperate(), async (c) => {
    const body = await jsonBody(c, CreateRestoreBody);
    if (body.confirm !== body.backupId && body.confirm !== body.pgdata) {
      throw new BackupError('CONFIRMATION_REQUIRED', 'A restore needs "confirm" equal to the backup id or the target data directory.', `Send "confirm": "${body.backupId}" to restore it into ${body.pgdata} (a non-empty target is moved aside, not deleted).`);
    }
    const wantsPitr = [body.pitrTarget, body.pitrLsn, body.pitrXid, body.pitrName].some((value) => value !== undefined);
    if (wantsPitr && !ctx.engines.restoreSupportsPitr) {
      throw new BackupError('NOT_IMPLEMENTED', 'Point-in-time restore is not configured on this server (it has no wal-fetch command for restore_command).', 'Run the server with `llm-analytics serve`, or restore the backup itself (omit the pitr fields).');
    }
    const target = pitrTargetFrom({ time: body.pitrTarget, lsn: body.pitrLsn, xid: body.pitrXid, name: body.pitrName });
    const metadata = await ctx.catalog.get(body.backupId);
    if (!metadata) throw new BackupError('BACKUP_NOT_FOUND', `No backup "${body.backupId}" in ${ctx.storage.location}.`, 'GET /v1/backups lists the backups there.');
    const options: RestoreOptions = {
      config: { ...ctx.config, database: metadata.database },
      backupId: body.backupId,
      pgdata: body.pgdata,
      port: body.port,
      start: body.start,
      force: true,
      skipValidation: body.skipValidation,
      targetDatabase: body.targetDatabase,
      ...(target ? { target, inclusive: body.pitrInclusive } : {}),
      ...(ctx.walFetchCommand && (target || body.walReplay) ? { walFetchCommand: ctx.walFetchCommand } : {}),
    };
    const deps = { storage: ctx.storage, host: ctx.host };
    // Refused before it becomes a job: a PITR target outside the window (422), a busy target (409).
    await ctx.engines.planRestore?.(options, deps);
    const { confirm: _confirm, ...params } = body;
    const job = ctx.jobs.start('restore', metadata.database, params, ({ signal, progress }) => ctx.engines.restore({ ...options, signal }, { ...deps, progress }));
    c.header('Location', `/v1/jobs/${job.id}`);
    return c.json(job, 202);
  });
  return routes;
}
