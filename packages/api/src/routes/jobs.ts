import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { BackupError } from '@llm-analytics/core';
import { requireOperate } from '../middleware.js';
import type { AppContext } from '../context.js';
import type { ApiEnv } from '../types.js';

const JOB_ID = /^job-\d{8}T\d{6}Z-[0-9a-f]{8}$/;

/** Jobs: status, live progress as Server-Sent Events, cancellation. */
export function jobRoutes(ctx: AppContext): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  const findJob = (id: string) => {
    if (!JOB_ID.test(id)) throw new BackupError('INVALID_ARGUMENT', `"${id.slice(0, 80)}" is not a job id.`, 'Job ids look like job-20261125T120000Z-1a2b3c4d; GET /v1/jobs lists them.');
    const job = ctx.jobs.get(id);
    if (!job) throw new BackupError('JOB_NOT_FOUND', `No job "${id}" on this server.`, 'Jobs live as long as the server process; GET /v1/jobs lists them.');
    return job;
  };

  routes.get('/v1/jobs', (c) => c.json({ jobs: ctx.jobs.list() }));
  routes.get('/v1/jobs/:id', (c) => c.json(findJob(c.req.param('id'))));

  routes.get('/v1/jobs/:id/events', (c) => {
    const job = findJob(c.req.param('id'));
    const lastEventId = Number.parseInt(c.req.header('last-event-id') ?? c.req.query('lastEventId') ?? '0', 10);
    const after = Number.isFinite(lastEventId) && lastEventId > 0 ? lastEventId : 0;
    return streamSSE(c, async (stream) => {
      const closed = new AbortController();
      stream.onAbort(() => closed.abort());
      // A comment line now and then keeps proxies from closing a quiet stream (long restores).
      const keepalive = setInterval(() => void stream.write(': keepalive\n\n').catch(() => {}), 15_000);
      closed.signal.addEventListener('abort', () => clearInterval(keepalive));
      await ctx.jobs.trackStream(
        (async () => {
          for await (const event of ctx.jobs.follow(job.id, after, closed.signal)) {
            await stream.writeSSE({ id: String(event.id), event: event.type, data: JSON.stringify(event.data) });
          }
        })(),
      ).finally(() => clearInterval(keepalive));
    });
  });

  routes.delete('/v1/jobs/:id', requireOperate(), (c) => {
    const job = findJob(c.req.param('id'));
    const requested = ctx.jobs.cancel(job.id);
    return c.json({ ...job, cancelRequested: requested }, requested ? 202 : 200);
  });

  return routes;
}
