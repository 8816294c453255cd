import { z } from 'zod';
import { BackupMetadata, BackupStatus, BackupType, Compression } from '@llm-analytics/core';

/**
 * Request and response shapes of the API: the core's zod schemas for what core returns, strict
 * objects for what clients send (an unknown field is a 400, never silently ignored). The OpenAPI
 * document is generated from these.
 */
const DatabaseName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'a database name: letters, digits, _ and $, starting with a letter or _');
export const BackupIdText = z.string().regex(/^backup-[a-z_][a-z0-9_$]{0,62}-\d{8}T\d{6}Z-[0-9a-f]{6}$/, 'a backup id such as backup-llm_analytics-20261125T120000Z-1a2b3c');

export const ListBackupsQuery = z.strictObject({
  database: DatabaseName.optional(),
  status: BackupStatus.optional(),
  type: BackupType.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  /** The id of the last backup of the previous page. */
  cursor: BackupIdText.optional(),
});

export const BackupPage = z.object({
  backups: z.array(BackupMetadata),
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});

export const CreateBackupBody = z.strictObject({
  database: DatabaseName.optional(),
  type: BackupType.default('Full'),
  compression: Compression.optional(),
  encryption: z.boolean().optional(),
  retentionDays: z.number().int().min(1).max(36_500).optional(),
});

export const VerifyBackupBody = z.strictObject({
  testRestore: z.boolean().default(false),
});

export const CreateRestoreBody = z.strictObject({
  backupId: BackupIdText,
  /** Absolute path of the new data directory on the database host. */
  pgdata: z.string().min(2).max(4096).regex(/^\/[^\0]*$/, 'an absolute path'),
  port: z.number().int().min(1024).max(65_535).default(5433),
  start: z.boolean().default(true),
  skipValidation: z.boolean().default(false),
  targetDatabase: DatabaseName.optional(),
  /** Point in time to recover to: an RFC 3339 timestamp with a zone. At most one pitr* field. */
  pitrTarget: z.string().max(64).optional(),
  pitrLsn: z.string().max(32).optional(),
  pitrXid: z.string().max(20).optional(),
  pitrName: z.string().max(63).optional(),
  /** Stop just after the target (default) or just before. */
  pitrInclusive: z.boolean().default(true),
  /** Replay the archived WAL to its end when no target is given (default, like the CLI). */
  walReplay: z.boolean().default(true),
  /** Must equal backupId or pgdata: the API's --force. */
  confirm: z.string().min(1).max(4096),
});

export const JobSchema = z.object({
  id: z.string(),
  kind: z.enum(['backup', 'restore', 'verify']),
  state: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
  database: z.string(),
  params: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  result: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).optional(),
  progress: z
    .object({
      phase: z.string(),
      bytes: z.number().optional(),
      totalBytes: z.number().optional(),
      message: z.string().optional(),
      rateBytesPerSecond: z.number().optional(),
      etaSeconds: z.number().optional(),
    })
    .optional(),
});

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    hint: z.string().optional(),
    /** Where a validation error is: ["body", "type"]. */
    path: z.array(z.union([z.string(), z.number()])).optional(),
    requestId: z.string().optional(),
  }),
});

export const StatsSchema = z.object({
  totalBackups: z.number(),
  totalSizeBytes: z.number(),
  totalStoredSizeBytes: z.number(),
  fullBackups: z.number(),
  incrementalBackups: z.number(),
  differentialBackups: z.number(),
  oldestAgeDays: z.number().nullable(),
  newestAgeDays: z.number().nullable(),
});
