import { Hono } from 'hono';
import { BackupError } from '@llm-analytics/core';
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
    if (body.pitrTarget && !ctx.engines.restoreSupportsPitr) {
      throw new BackupError('NOT_IMPLEMENTED', 'Point-in-time restore is not available in this build of the server.', 'Restore the backup itself (omit pitrTarget).');
    }
    const metadata = await ctx.catalog.get(body.backupId);
    if (!metadata) throw new BackupError('BACKUP_NOT_FOUND', `No backup "${body.backupId}" in ${ctx.storage.location}.`, 'GET /v1/backups lists the backups there.');
    const { confirm: _confirm, ...params } = body;
    const job = ctx.jobs.start('restore', metadata.database, params, async ({ signal, progress }) =>
      ctx.engines.restore(
        {
          config: { ...ctx.config, database: metadata.database },
          backupId: body.backupId,
          pgdata: body.pgdata,
          port: body.port,
          start: body.start,
          force: true,
          skipValidation: body.skipValidation,
          targetDatabase: body.targetDatabase,
          signal,
          ...(body.pitrTarget ? { target: { time: body.pitrTarget } } : {}),
        } as Parameters<typeof ctx.engines.restore>[0],
        { storage: ctx.storage, host: ctx.host, progress },
      ),
    );
    c.header('Location', `/v1/jobs/${job.id}`);
    return c.json(job, 202);
  });
  return routes;
}
