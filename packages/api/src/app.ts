import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { BackupError, archiveStatus, backup, planRestore, restore, verifyBackup } from '@llm-analytics/core';
import { CatalogIndex } from './catalogIndex.js';
import type { AppContext } from './context.js';
import { errorResponse, ValidationFailure } from './httpErrors.js';
import { JobRegistry } from './jobs.js';
import { accessLog, authenticate, requestId } from './middleware.js';
import { backupRoutes } from './routes/backups.js';
import { jobRoutes } from './routes/jobs.js';
import { restoreRoutes } from './routes/restores.js';
import { systemRoutes } from './routes/system.js';
import type { ApiDeps, ApiEnv, Engines } from './types.js';

const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export interface BuiltApp {
  app: Hono<ApiEnv>;
  jobs: JobRegistry;
  catalog: CatalogIndex;
}

/**
 * The API as a Hono app built from injected dependencies: tests call app.request() without a
 * socket; server.ts serves it. A thin frontend: every route parses input, calls one core engine
 * (as a job when it is long) and renders the result.
 */
export function createApp(deps: ApiDeps): BuiltApp {
  const now = deps.now ?? (() => new Date());
  const engines: Engines = { backup, restore, ...defaultEngines(), restoreSupportsPitr: Boolean(deps.walFetchCommand), ...deps.engines };
  const jobs = deps.jobs ?? new JobRegistry(now);
  const catalog = deps.catalog ?? new CatalogIndex(deps.storage);
  const ctx: AppContext = { config: deps.config, storage: deps.storage, host: deps.host, engines, jobs, catalog, now, walFetchCommand: deps.walFetchCommand };
  const log = deps.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const httpRequests = new Map<string, number>();
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  const app = new Hono<ApiEnv>();
  app.use(requestId());
  app.use(accessLog(log, ({ method, status }) => httpRequests.set(`${method} ${status}`, (httpRequests.get(`${method} ${status}`) ?? 0) + 1)));
  app.use(authenticate(deps.tokens));
  app.use(
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) => errorResponse(c as never, new BackupError('REQUEST_TOO_LARGE', `The request body is larger than ${maxBodyBytes} bytes.`, 'Request bodies are small JSON objects; send only the documented fields.')),
    }),
  );
  app.route('/', systemRoutes(ctx, httpRequests));
  app.route('/', backupRoutes(ctx));
  app.route('/', restoreRoutes(ctx));
  app.route('/', jobRoutes(ctx));

  app.notFound((c) => errorResponse(c, new BackupError('ROUTE_NOT_FOUND', `No route ${c.req.method} ${c.req.path}.`, 'See /openapi.json for the routes.')));
  app.onError((error, c) => (error instanceof ValidationFailure ? errorResponse(c, error.error, { path: error.path }) : errorResponse(c, error)));
  return { app, jobs, catalog };
}

/** The verify engine, the WAL archive status and restore planning (PITR checks up front). */
function defaultEngines(): Partial<Engines> {
  return {
    verify: ({ config, backupId, testRestore, signal }, { storage, host, progress, onCheck }) => verifyBackup({ config, backupId, testRestore, signal }, { storage, host, progress, onCheck }),
    walStatus: ({ config }, { storage, host }) => archiveStatus(storage, { connection: config.connection, host, binDir: config.pgBinDir }),
    planRestore: (options, deps) => planRestore(options, deps).then(() => undefined),
  };
}
