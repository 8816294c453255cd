import { Hono } from 'hono';
import { BackupError } from '@llm-analytics/core';
import { renderMetrics } from '../metrics.js';
import { openApiDocument } from '../openapi.js';
import type { AppContext } from '../context.js';
import type { ApiEnv } from '../types.js';

/** Health, metrics, the OpenAPI document and the WAL archive status. */
export function systemRoutes(ctx: AppContext, httpRequests: Map<string, number>): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  const document = openApiDocument();

  routes.get('/healthz', (c) => c.json({ status: 'ok' }));
  routes.get('/openapi.json', (c) => c.json(document));

  routes.get('/metrics', async (c) => {
    const walLastArchivedAgeSeconds = await walAge(ctx);
    const text = renderMetrics({ backups: await ctx.catalog.all(), jobs: ctx.jobs, httpRequests, now: ctx.now(), walLastArchivedAgeSeconds });
    return c.body(text, 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
  });

  routes.get('/v1/wal/status', async (c) => {
    const walStatus = ctx.engines.walStatus;
    if (!walStatus) throw new BackupError('NOT_IMPLEMENTED', 'The WAL archive status is not available in this build of the server.', 'Use `llm-analytics database wal-status` where available, or upgrade the server.');
    return c.json((await walStatus({ config: ctx.config }, { storage: ctx.storage, host: ctx.host })) as object);
  });
  return routes;
}

async function walAge(ctx: AppContext): Promise<number | undefined> {
  if (!ctx.engines.walStatus) return undefined;
  try {
    const status = (await ctx.engines.walStatus({ config: ctx.config }, { storage: ctx.storage, host: ctx.host })) as { clusters?: { lastArchivedAt?: string }[] };
    const newest = Math.max(...(status.clusters ?? []).map((cluster) => (cluster.lastArchivedAt ? Date.parse(cluster.lastArchivedAt) : 0)), 0);
    return newest > 0 ? Math.max(0, (ctx.now().getTime() - newest) / 1000) : undefined;
  } catch {
    return undefined;
  }
}
