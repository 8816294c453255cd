import { z } from 'zod';
import { BackupMetadata } from '@llm-analytics/core';
import { BackupPage, CreateBackupBody, CreateRestoreBody, ErrorBody, JobSchema, ListBackupsQuery, StatsSchema, VerifyBackupBody } from './schemas.js';

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with (zod 4's
 * toJSONSchema), so it cannot drift from the code. docs/openapi.json is a committed copy
 * (regenerate: `pnpm --filter @llm-analytics/api openapi`); a test checks they are equal.
 */
const schema = (type: z.ZodType, io: 'input' | 'output' = 'output') => {
  const { $schema: _ignored, ...json } = z.toJSONSchema(type, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return json;
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ content: { 'application/json': { schema: ref(name) } } });
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [String(status), { description: ERROR_DESCRIPTIONS[status] ?? 'Error', ...json('Error') }]));
const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Validation error (the zod path is in error.path) or a bad argument',
  401: 'Missing or wrong bearer token',
  403: 'The token has the read role; this needs operate',
  404: 'Unknown backup or job',
  409: 'A backup of this database is already running (API job or CLI, via the repository lock)',
  413: 'Request body too large',
  422: 'PITR target outside the restorable window, damaged data',
  501: 'Not available in this build',
  503: 'Storage or database unreachable',
};
const jobAccepted = { '202': { description: 'Accepted: the job; follow /v1/jobs/{id}/events', ...json('Job') } };
const idParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });

export function openApiDocument(): Record<string, unknown> {
  const queryParameters = Object.entries((schema(ListBackupsQuery, 'input').properties ?? {}) as Record<string, unknown>).map(([name, s]) => ({ name, in: 'query', required: false, schema: s }));
  return {
    openapi: '3.1.0',
    info: { title: 'llm-analytics database backup API', version: '1', description: 'Backups, restores and verification of a TimescaleDB/PostgreSQL database as jobs, with live progress (SSE), bearer auth and Prometheus metrics.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Tokens from BACKUP_API_TOKENS or the token file; role read or operate.' } },
      schemas: {
        BackupMetadata: schema(BackupMetadata),
        BackupPage: schema(BackupPage),
        Stats: schema(StatsSchema),
        Job: schema(JobSchema),
        Error: schema(ErrorBody),
        CreateBackup: schema(CreateBackupBody, 'input'),
        VerifyBackup: schema(VerifyBackupBody, 'input'),
        CreateRestore: schema(CreateRestoreBody, 'input'),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/healthz': { get: { summary: 'Liveness (no token needed)', security: [], responses: { '200': { description: 'OK' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics (read)', responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': {} } }, ...errors(401) } } },
      '/v1/backups': {
        get: { summary: 'The catalog, newest first, paginated (read)', parameters: queryParameters, responses: { '200': { description: 'A page', ...json('BackupPage') }, ...errors(400, 401, 503) } },
        post: { summary: 'Start a backup (operate)', requestBody: { required: false, ...json('CreateBackup') }, responses: { ...jobAccepted, ...errors(400, 401, 403, 409, 413, 503) } },
      },
      '/v1/backups/{id}': { get: { summary: 'Full metadata, chain and restorable window (read)', parameters: [idParam('id', 'Backup id')], responses: { '200': { description: 'The backup', ...json('BackupMetadata') }, ...errors(400, 401, 404) } } },
      '/v1/backups/{id}/verify': { post: { summary: 'Verify a backup (operate)', parameters: [idParam('id', 'Backup id')], requestBody: { required: false, ...json('VerifyBackup') }, responses: { ...jobAccepted, ...errors(400, 401, 403, 404, 501) } } },
      '/v1/restores': { post: { summary: 'Restore a backup into a data directory (operate); confirm must equal backupId or pgdata', requestBody: { required: true, ...json('CreateRestore') }, responses: { ...jobAccepted, ...errors(400, 401, 403, 404, 422, 501) } } },
      '/v1/stats': { get: { summary: 'Catalog statistics (read)', responses: { '200': { description: 'Stats', ...json('Stats') }, ...errors(401) } } },
      '/v1/wal/status': { get: { summary: 'WAL archive status (read)', responses: { '200': { description: 'Status' }, ...errors(401, 501) } } },
      '/v1/jobs': { get: { summary: 'Jobs of this server, newest first (read)', responses: { '200': { description: 'Jobs', content: { 'application/json': { schema: { type: 'object', properties: { jobs: { type: 'array', items: ref('Job') } } } } } }, ...errors(401) } } },
      '/v1/jobs/{id}': {
        get: { summary: 'A job: state, result or typed error (read)', parameters: [idParam('id', 'Job id')], responses: { '200': { description: 'The job', ...json('Job') }, ...errors(400, 401, 404) } },
        delete: { summary: 'Cancel a job (operate)', parameters: [idParam('id', 'Job id')], responses: { '202': { description: 'Cancellation requested', ...json('Job') }, '200': { description: 'The job had already ended', ...json('Job') }, ...errors(400, 401, 403, 404) } },
      },
      '/v1/jobs/{id}/events': {
        get: {
          summary: 'Server-Sent Events: state, progress (phase, bytes, rate, ETA), check (verify jobs: each row of the check table {name, status, message} once final, in table order), then result or error; resume with Last-Event-ID (read)',
          parameters: [idParam('id', 'Job id'), { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } }],
          responses: { '200': { description: 'text/event-stream', content: { 'text/event-stream': {} } }, ...errors(400, 401, 404) },
        },
      },
    },
  };
}
