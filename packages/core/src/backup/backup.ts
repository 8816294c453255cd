import { pipeline } from 'node:stream/promises';
import { newBackupId } from '../catalog/backupId.js';
import { writeMetadata } from '../catalog/catalog.js';
import { acquireBackupLock, type BackupLockOwner } from '../catalog/lock.js';
import { baseDataKey, metadataKey } from '../catalog/layout.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { BackupError, asBackupError } from '../errors.js';
import type { ExecInto, ExecStream, Host } from '../host/host.js';
import { hostPgTool } from '../host/pgBinaries.js';
import { DEFAULT_FRAME_SIZE, createFrameWriter, type FrameWriter, type FrameWriterSummary } from '../pipeline/index.js';
import { baseBackupArgv, baseBackupEnv } from '../postgres/basebackup.js';
import { describeBackupStream, type BackupStreamFacts } from './backupStream.js';
import { completedStatus, failedMetadata, initialMetadata } from './initialMetadata.js';
import { readSourceFacts, type SourceFacts } from './sourceFacts.js';
import { restorePointBackup } from './restorePoint.js';
import type { ProgressSink } from '../progress.js';
import { noProgress } from '../progress.js';
import type { Storage } from '../storage/storage.js';
import { TarWalker, type TarPosition } from '../tar/tarWalker.js';
import type { BackupMetadata, BackupType } from '../types/metadata.js';

export interface BackupOptions {
  config: ResolvedConfig;
  type: BackupType;
  signal?: AbortSignal;
  /** Who takes the repository lock (the API names its job); default this CLI process. */
  lockOwner?: Partial<BackupLockOwner>;
}

export interface BackupDeps {
  storage: Storage;
  host: Host;
  progress?: ProgressSink;
  now?: () => Date;
}

export interface BackupResult {
  metadata: BackupMetadata;
  messages: string[];
}

/** What `backup --dry-run` prints: everything decided, nothing touched. */
export interface BackupPlan {
  database: string;
  type: BackupType;
  source: string;
  repository: string;
  objects: string[];
  compression: ResolvedConfig['compression'];
  encrypted: boolean;
  retentionDays: number;
  exampleId: string;
}

export function planBackup(options: BackupOptions, deps: Pick<BackupDeps, 'storage' | 'host' | 'now'>): BackupPlan {
  const { config } = options;
  const encrypted = assertEncryptionKey(config);
  const id = newBackupId(config.database, (deps.now ?? (() => new Date()))());
  return {
    database: config.database,
    type: options.type,
    source: deps.host.description,
    repository: deps.storage.location,
    // Incremental and differential backups are restore points over archived WAL: metadata only.
    objects: options.type === 'Full' ? [baseDataKey(id, config.compression, encrypted), metadataKey(id)] : [metadataKey(id)],
    compression: config.compression,
    encrypted,
    retentionDays: config.retentionDays,
    exampleId: id,
  };
}

/**
 * A full physical backup: pg_basebackup's tar stream (with backup_manifest) flows through
 * compression, encryption and hashing into one stored object; nothing touches local disk.
 * backup.json is written InProgress first, then Completed last: a crash leaves InProgress or
 * Failed, never a backup that looks complete.
 */
export async function backup(options: BackupOptions, deps: BackupDeps): Promise<BackupResult> {
  const { config } = options;
  const { storage } = deps;
  const progress = deps.progress ?? noProgress;
  const now = deps.now ?? (() => new Date());
  const plan = planBackup(options, deps);
  if (options.type !== 'Full') return restorePointBackup(options, deps);
  const messages: string[] = [];
  const say = (message: string) => {
    messages.push(message);
    progress({ phase: 'backup', message });
  };

  // Independent round trips (repository, database): asked at once.
  const [, source] = await Promise.all([storage.check(), readSourceFacts(deps.host, config)]);
  // One backup of a database at a time, across processes and machines (catalog/lock.ts).
  const lock = await acquireBackupLock(storage, config.database, { owner: options.lockOwner, now });
  try {
    return await lockedBackup(options, deps, source, plan.encrypted, say, messages);
  } finally {
    await lock.release();
  }
}

async function lockedBackup(
  options: BackupOptions,
  deps: BackupDeps,
  source: SourceFacts,
  encrypted: boolean,
  say: (message: string) => void,
  messages: string[],
): Promise<BackupResult> {
  const { config, signal } = options;
  const { storage, host } = deps;
  const now = deps.now ?? (() => new Date());
  say(`Connected to PostgreSQL ${source.server.version} on ${host.description}`);

  const started = now();
  const id = newBackupId(config.database, started);
  const dataKey = baseDataKey(id, config.compression, encrypted);
  const metadata: BackupMetadata = initialMetadata(id, options, source, storage, host, started, encrypted);
  await writeMetadata(storage, metadata);
  say(`Backup ${id} started`);

  try {
    const facts = await streamBaseBackup(options, deps, id, dataKey, source);
    const ended = now();
    const completed: BackupMetadata = {
      ...metadata,
      ...completedStatus(metadata, ended),
      ...facts.walPosition,
      sizeBytes: facts.stored.rawBytes,
      storedSizeBytes: facts.stored.storedBytes,
      sha256: facts.stored.sha256,
      serverSideEncryption: facts.serverSideEncryption,
      objects: [
        { key: dataKey, rawSize: facts.stored.rawBytes, storedSize: facts.stored.storedBytes, sha256: facts.stored.sha256, frames: facts.stored.frames },
      ],
    };
    await writeMetadata(storage, completed);
    say(`Backup uploaded to ${storage.location}/${dataKey}`);
    return { metadata: completed, messages };
  } catch (caught) {
    const error = signal?.aborted ? new BackupError('CANCELLED', `Backup ${id} was cancelled.`) : asBackupError(caught);
    await markFailed(storage, metadata, dataKey, error, now());
    throw error;
  }
}

async function streamBaseBackup(options: BackupOptions, deps: BackupDeps, id: string, dataKey: string, source: SourceFacts) {
  const { config, signal } = options;
  const { storage, host } = deps;
  const progress = deps.progress ?? noProgress;
  const argv = baseBackupArgv({ program: hostPgTool(host, 'pg_basebackup'), label: id, connection: config.connection });
  const env = baseBackupEnv(config.connection);
  const frameSize = DEFAULT_FRAME_SIZE;
  const walker = new TarWalker({ capture: ['backup_manifest', 'backup_label'], positionsEvery: frameSize });
  const writer = createFrameWriter({
    compression: config.compression,
    frameSize,
    passphrase: config.encryption ? config.passphrase?.reveal() : undefined,
    signal,
    onProgress: (bytes: number) => progress({ phase: 'backup', bytes, totalBytes: source.clusterSizeBytes }),
    inspectRaw: walker,
  });
  const upload = storage.put(dataKey, writer, { signal });
  if (host.execInto) await readInto(host.execInto(argv, writer.direct, { env, signal }), writer, upload);
  else await readStream(host.execStream(argv, { env, signal }), writer, upload, signal);
  const facts: BackupStreamFacts = describeBackupStream(walker);
  return { stored: withTarPositions(writer.summary(), walker.framePositions()), walPosition: facts, serverSideEncryption: appliedServerSideEncryption(storage, config) };
}

/** Each frame's start in the tar, in the frame index, when every frame can be extracted alone. */
function withTarPositions(stored: FrameWriterSummary, positions: TarPosition[] | undefined): FrameWriterSummary {
  if (!positions || positions.length !== stored.frames.length) return stored;
  return { ...stored, frames: stored.frames.map((frame, index) => ({ ...frame, tar: positions[index] })) };
}

/** pg_basebackup's stdout read straight into the frame writer's buffers (a local host). */
async function readInto(started: Promise<ExecInto>, writer: FrameWriter, upload: Promise<unknown>): Promise<void> {
  // Every failure reaches us through `upload` or the run. Without this listener the writer's
  // 'error' (a cancel destroys it) could come before the storage reads it: an uncaught exception.
  writer.on('error', () => {});
  let run: ExecInto | undefined;
  let uploadFailure: unknown;
  // Handled from the start: a cancel can fail the upload while the command is still starting.
  const uploadSettled = upload.then(
    () => undefined,
    (error: unknown) => {
      uploadFailure ??= error;
      run?.kill(); // nothing would take the rest of pg_basebackup's output
    },
  );
  let exit: { exitCode: number; stderr: string };
  try {
    run = await started;
    if (uploadFailure !== undefined) run.kill();
    exit = await run.done;
  } catch (error) {
    writer.destroy();
    await uploadSettled;
    throw uploadFailure ?? error;
  }
  if (uploadFailure !== undefined) throw uploadFailure;
  if (exit.exitCode !== 0) {
    writer.destroy();
    await uploadSettled;
    throw pgBaseBackupFailed(exit.stderr);
  }
  writer.end();
  await uploadSettled;
  if (uploadFailure !== undefined) throw uploadFailure;
}

/** pg_basebackup's stdout as a stream (a host that cannot do better, Kubernetes). */
async function readStream(child: ExecStream, writer: FrameWriter, upload: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  const exit = child.done;
  try {
    await Promise.all([pipeline(child.stdout, writer, { signal }), upload]);
  } catch (error) {
    child.kill();
    const { stderr } = await exit.catch(() => ({ stderr: '' }));
    throw stderr ? pgBaseBackupFailed(stderr, error) : error;
  }
  const { exitCode, stderr } = await exit;
  if (exitCode !== 0) throw pgBaseBackupFailed(stderr);
}

/** A failed backup keeps its metadata (status Failed, with the error) and loses its data. */
async function markFailed(storage: Storage, metadata: BackupMetadata, dataKey: string, error: BackupError, at: Date): Promise<void> {
  await storage.delete([dataKey]).catch(() => {});
  await writeMetadata(storage, failedMetadata(metadata, error, at)).catch(() => {});
}

/** Encryption is on by default; without a key that is an error, never a silent plaintext backup. */
function assertEncryptionKey(config: ResolvedConfig): boolean {
  if (!config.encryption) return false;
  if (!config.passphrase) {
    throw new BackupError(
      'ENCRYPTION_KEY_MISSING',
      'Encryption is on (the default) but no encryption key is configured.',
      'Set BACKUP_ENCRYPTION_PASSPHRASE or pass --encryption-key-file FILE; or pass --no-encryption to store the backup unencrypted.',
    );
  }
  return true;
}

/** The S3 server-side encryption the storage really applied (Swift's s3api, say, has none). */
function appliedServerSideEncryption(storage: Storage, config: ResolvedConfig): string | null {
  const applied = (storage as { serverSideEncryptionApplied?: boolean }).serverSideEncryptionApplied;
  return applied === true && config.repository.kind === 's3' ? (config.repository.sse ?? null) : null;
}

function pgBaseBackupFailed(stderr: string, cause?: unknown): BackupError {
  const detail = stderr.trim().split('\n').slice(-3).join(' ');
  return new BackupError('HOST_COMMAND_FAILED', `pg_basebackup failed: ${detail}`, 'Check that the user may connect for replication (pg_hba.conf, REPLICATION role) and that max_wal_senders > 0.', { cause });
}
