import { z } from 'zod';

export const BACKUP_FORMAT_VERSION = 1;

export const BackupType = z.enum(['Full', 'Incremental', 'Differential']);
export type BackupType = z.infer<typeof BackupType>;

export const BackupStatus = z.enum(['InProgress', 'Completed', 'Failed', 'Verified']);
export type BackupStatus = z.infer<typeof BackupStatus>;

export const Compression = z.enum(['zstd', 'lz4', 'gzip', 'none']);
export type Compression = z.infer<typeof Compression>;

/** A PostgreSQL LSN in its text form, e.g. "0/3000028". */
export const LsnText = z.string().regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i, 'an LSN such as 0/3000028');

const count = z.number().int().nonnegative();

/** Where a frame starts in the backup's tar (see TarPosition in tar/tarParser.ts). */
export const TarPosition = z.discriminatedUnion('at', [
  z.object({ at: z.literal('header'), longName: z.string().optional(), longLink: z.string().optional() }),
  z.object({ at: z.literal('body'), path: z.string().min(1), size: count, mode: count, mtime: count, offset: count }),
  z.object({ at: z.literal('end') }),
  z.object({ at: z.literal('other') }),
]);

/** Where one compressed (and maybe encrypted) frame sits in the stored object. */
export const FrameIndexEntry = z.object({
  rawOffset: count,
  rawLength: count,
  storedOffset: count,
  storedLength: count,
  /**
   * Where the frame starts in the tar it holds: a restore then extracts frames in parallel, each
   * decoded and written in small pieces by one thread (host/frameExtractor.ts). Recorded by backups
   * since this field exists, when every frame can be extracted on its own; older ones lack it.
   */
  tar: TarPosition.optional(),
});
export type FrameIndexEntry = z.infer<typeof FrameIndexEntry>;

export const StoredObject = z.object({
  /** Key relative to the repository root. */
  key: z.string().min(1),
  rawSize: z.number().int().nonnegative(),
  storedSize: z.number().int().nonnegative(),
  /** SHA-256 (hex) of the stored bytes, exactly as they are in the repository. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  frames: z.array(FrameIndexEntry),
});
export type StoredObject = z.infer<typeof StoredObject>;

export const VerificationCheck = z.object({
  name: z.string(),
  status: z.enum(['pass', 'fail', 'warn', 'skip']),
  message: z.string(),
});
export type VerificationCheck = z.infer<typeof VerificationCheck>;

/**
 * backup.json: the commit record of a backup. Written last: its existence with status Completed
 * is what makes a backup exist. Never contains secrets.
 */
export const BackupMetadata = z.object({
  formatVersion: z.literal(BACKUP_FORMAT_VERSION),
  id: z.string(),
  database: z.string(),
  type: BackupType,
  status: BackupStatus,
  /** Parent backup id for incremental/differential restore points. */
  parentId: z.string().optional(),
  startTime: z.string().datetime({ offset: true }),
  endTime: z.string().datetime({ offset: true }).optional(),
  durationSeconds: z.number().nonnegative().optional(),
  startLsn: LsnText.optional(),
  endLsn: LsnText.optional(),
  timeline: z.number().int().positive().optional(),
  /** First and last WAL segment names the backup needs to be consistent. */
  startWalSegment: z.string().optional(),
  endWalSegment: z.string().optional(),
  postgresVersion: z.string().optional(),
  postgresVersionNum: z.number().int().optional(),
  systemIdentifier: z.string().optional(),
  timescaledbVersion: z.string().nullable().optional(),
  /** Where the data came from, for humans: "local (user postgres)", "pod ns/name". */
  source: z.string().optional(),
  /** Repository location, without secrets: "s3://bucket/prefix" or a path. */
  location: z.string(),
  compression: Compression,
  /** Client-side AES-256-GCM encryption of every stored byte. */
  encrypted: z.boolean(),
  /** Server-side encryption the storage applied (S3 SSE), or null. */
  serverSideEncryption: z.string().nullable().optional(),
  /** Size of the raw tar stream and of what is stored (after compression and encryption). */
  sizeBytes: z.number().int().nonnegative(),
  storedSizeBytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  objects: z.array(StoredObject),
  retentionDays: z.number().int().positive(),
  /** What the source looked like, so a restore can be compared with it. */
  tableCount: z.number().int().nonnegative().optional(),
  databaseSizeBytes: z.number().int().nonnegative().optional(),
  hypertableCount: z.number().int().nonnegative().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  verification: z
    .object({ time: z.string().datetime({ offset: true }), valid: z.boolean(), checks: z.array(VerificationCheck) })
    .optional(),
});
export type BackupMetadata = z.infer<typeof BackupMetadata>;
