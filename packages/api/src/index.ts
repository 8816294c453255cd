/** The HTTP API of llm-analytics database: a Hono app over the core engines. */
export { createApp, type BuiltApp } from './app.js';
export { CatalogIndex, type CatalogIndexOptions } from './catalogIndex.js';
export { JobRegistry, type Job, type JobEvent, type JobKind, type JobState } from './jobs.js';
export { loadTokens, parseTokens, roleOf } from './auth.js';
export { openApiDocument } from './openapi.js';
export { renderMetrics } from './metrics.js';
export { runServer, isLoopback, type ServerOptions, type RunningServer } from './server.js';
export type { ApiDeps, Engines, Role } from './types.js';
