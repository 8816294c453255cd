import { parseBackupId } from '../catalog/backupId.js';
import { listBackupIds, readMetadata, writeMetadata } from '../catalog/catalog.js';
import { metadataKey } from '../catalog/layout.js';
import type { RestorableWindow } from '../catalog/walArchive.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { BackupError, asBackupError } from '../errors.js';
import type { Host } from '../host/host.js';
import { manifestWalRange } from '../postgres/manifest.js';
import { sharedCodecPool } from '../pipeline/codecPool.js';
import { noProgress, type ProgressSink } from '../progress.js';
import type { Storage } from '../storage/storage.js';
import type { BackupMetadata, BackupStatus, VerificationCheck } from '../types/metadata.js';
import { CHECK, CHECK_ORDER, checkFromError, fail, pass, skip, type CheckName } from './checks.js';
import { compareWithManifest } from './manifestCheck.js';
import { isRestorePoint, metadataProblems } from './metadataCheck.js';
import { readBackupObject, type StreamFindings } from './streamCheck.js';
import { testRestore, type TestRestoreReport } from './testRestore.js';
import { assessWal } from './walCheck.js';

export interface VerifyOptions {
  config: ResolvedConfig;
  backupId: string;
  /** Restore into a scratch directory, start and query it (needs `host`). */
  testRestore?: boolean;
  /** Parent of the scratch data directory (default: the OS temp directory). */
  scratchDir?: string;
  /** Test-restore in a temporary pod in this Kubernetes namespace instead (`host` is the database pod). */
  testNamespace?: string;
  /** Write the outcome into backup.json (default true). */
  record?: boolean;
  signal?: AbortSignal;
}

export interface VerifyDeps {
  storage: Storage;
  host?: Host;
  progress?: ProgressSink;
  /**
   * Each row of the check table once it is final, in the table's order, so a frontend can fill
   * the table in while the rest runs. Called once per row of `result.checks`, with the same row,
   * before the result is returned (the TUI's table, the API's `check` events).
   */
  onCheck?: CheckSink;
  now?: () => Date;
}

export type CheckSink = (check: VerificationCheck, backupId: string) => void;

export interface VerifyResult {
  backupId: string;
  database?: string;
  /** Every check that ran passed or warned, and none could not be made. */
  valid: boolean;
  /** Some check could not be made (storage, key, host): valid is then false but not "invalid". */
  couldNotCheck?: { code: string; message: string; hint?: string };
  /** The status backup.json has after this run (unchanged when nothing was recorded). */
  status?: BackupStatus;
  recorded: boolean;
  time: string;
  durationSeconds: number;
  checks: VerificationCheck[];
  restorableWindow?: RestorableWindow;
  testRestore?: TestRestoreReport;
  /** Stored bytes read and how fast (verify is meant to run at the speed of reading). */
  read?: { storedBytes: number; rawBytes: number; seconds: number };
}

/**
 * Proves a backup restores, as far as it can be proven without (and then with) restoring it:
 * objects present at their recorded sizes, metadata consistent, the stored object's SHA-256, every
 * encrypted chunk authenticated and every frame decompressed, every file against backup_manifest,
 * the WAL for consistency and PITR in the archive, optionally a real test restore. One read of the
 * object. The outcome is written into backup.json (Verified, or the failed verification kept with
 * status Completed) and is the only thing verify ever writes.
 */
export async function verifyBackup(options: VerifyOptions, deps: VerifyDeps): Promise<VerifyResult> {
  const started = Date.now();
  const now = deps.now ?? (() => new Date());
  const progress = deps.progress ?? noProgress;
  const rows = new CheckTable((check) => deps.onCheck?.(check, options.backupId));
  let couldNotCheck: BackupError | undefined;
  const record = (check: VerificationCheck, error?: BackupError) => {
    rows.set(check);
    couldNotCheck ??= error;
  };
  const result: VerifyResult = { backupId: options.backupId, valid: false, recorded: false, time: now().toISOString(), durationSeconds: 0, checks: [] };
  parseBackupId(options.backupId);

  // The decoders boot while the metadata is read and the objects are looked up.
  sharedCodecPool().prestart();
  let metadata: BackupMetadata;
  try {
    metadata = await readMetadata(deps.storage, options.backupId);
  } catch (caught) {
    const error = asBackupError(caught);
    if (error.code !== 'METADATA_INVALID') throw error;
    record(fail(CHECK.metadata, error.message));
    return finish(result, rows, couldNotCheck, started);
  }
  result.database = metadata.database;
  result.status = metadata.status;
  const where = metadataKey(metadata.id);

  if (isRestorePoint(metadata)) {
    await verifyRestorePoint(metadata, deps.storage, record);
    return finishAndRecord(result, rows, couldNotCheck, started, metadata, options, deps.storage);
  }
  const object = metadata.objects[0];
  const presence = await checkObjectsPresent(metadata, deps.storage).catch((error) => ({ ...checkFromError(CHECK.objects, error, 'the data objects'), exists: false }));
  record(presence.check, presence.couldNotCheck);

  let findings: StreamFindings | undefined;
  if (object && presence.exists) {
    progress({ phase: 'verify', message: `Reading ${object.key}` });
    try {
      findings = await readBackupObject(metadata, object, { storage: deps.storage, passphrase: options.config.passphrase?.reveal(), signal: options.signal, progress });
      result.read = { storedBytes: findings.storedBytes, rawBytes: findings.decode?.rawBytes ?? 0, seconds: findings.seconds };
    } catch (caught) {
      if (options.signal?.aborted) throw new BackupError('CANCELLED', 'The verification was cancelled.');
      const { check, couldNotCheck: cause } = checkFromError(CHECK.checksum, caught, object.key);
      record(check, cause);
    }
  }
  if (object && findings) for (const [check, cause] of streamChecks(metadata, object.key, findings)) record(check, cause);
  else for (const name of [CHECK.checksum, CHECK.decode, CHECK.manifest]) if (!rows.has(name)) record(skip(name, `not run: ${object ? object.key : 'no data object'} could not be read`));

  const manifest = findings?.decode && compareWithManifest(findings.decode.manifest, findings.decode.files).manifest;
  const problems = metadataProblems(metadata, manifest ? manifestWalRange(manifest) : undefined);
  record(problems.length === 0 ? pass(CHECK.metadata, `${where} is consistent${manifest ? ' with backup_manifest' : ''} (${metadata.startLsn} → ${metadata.endLsn}, timeline ${metadata.timeline})`) : fail(CHECK.metadata, `${where}: ${problems.join('; ')}`));

  try {
    const wal = await assessWal(metadata, deps.storage, findings?.decode && !findings.decode.error ? findings.decode.walFiles : undefined);
    record(wal.consistency);
    record(wal.pitr);
    result.restorableWindow = wal.window;
  } catch (caught) {
    const { check, couldNotCheck: cause } = checkFromError(CHECK.walConsistency, caught, 'the WAL archive');
    record(check, cause);
    record(skip(CHECK.walPitr, check.message));
  }

  if (options.testRestore && deps.host && object && presence.check.status === 'pass') {
    progress({ phase: 'test-restore', message: 'Test restore into a scratch directory' });
    result.testRestore = options.testNamespace
      ? await (await import('./testRestoreInNamespace.js')).testRestoreInNamespace(metadata, { config: options.config, testNamespace: options.testNamespace, signal: options.signal }, { storage: deps.storage, host: deps.host, progress })
      : await testRestore(metadata, { config: options.config, scratchDir: options.scratchDir, signal: options.signal }, { storage: deps.storage, host: deps.host, progress });
    record(result.testRestore.check);
  } else {
    record(skip(CHECK.testRestore, options.testRestore ? 'not run: the data object is missing or has the wrong size' : 'not requested (--test-restore)'));
  }

  return finishAndRecord(result, rows, couldNotCheck, started, metadata, options, deps.storage);
}

async function finishAndRecord(
  result: VerifyResult,
  rows: CheckTable,
  couldNotCheck: BackupError | undefined,
  started: number,
  metadata: BackupMetadata,
  options: VerifyOptions,
  storage: Storage,
): Promise<VerifyResult> {
  finish(result, rows, couldNotCheck, started);
  if (options.record !== false && !couldNotCheck && (metadata.status === 'Completed' || metadata.status === 'Verified')) {
    result.status = await recordVerification(storage, metadata, result);
    result.recorded = true;
  }
  return result;
}

/**
 * A restore point is its parent's data plus archived WAL: its parent must exist and be restorable,
 * and every segment from the full backup's end to the restore point must be archived (there is no
 * tar of its own to fall back on). Its data is proven by verifying the full backup.
 */
async function verifyRestorePoint(metadata: BackupMetadata, storage: Storage, record: (check: VerificationCheck, error?: BackupError) => void): Promise<void> {
  const where = metadataKey(metadata.id);
  const problems = metadataProblems(metadata);
  try {
    const parent = await readMetadata(storage, metadata.parentId!);
    if (parent.status !== 'Completed' && parent.status !== 'Verified') problems.push(`parent ${parent.id} is ${parent.status}`);
    if (parent.systemIdentifier !== metadata.systemIdentifier) problems.push(`parent ${parent.id} is of another cluster (system identifier ${parent.systemIdentifier})`);
    record(pass(CHECK.objects, `restore point: no data object of its own; parent ${parent.id} is ${parent.status}`));
  } catch (caught) {
    const { check, couldNotCheck } = checkFromError(CHECK.objects, caught, `parent ${metadata.parentId} of restore point ${metadata.id}`);
    record(asBackupError(caught).code === 'BACKUP_NOT_FOUND' ? fail(CHECK.objects, `parent backup ${metadata.parentId} is missing (${metadataKey(metadata.parentId!)})`) : check, couldNotCheck);
  }
  record(problems.length === 0 ? pass(CHECK.metadata, `${where} is consistent (${metadata.startLsn} → ${metadata.endLsn})`) : fail(CHECK.metadata, `${where}: ${problems.join('; ')}`));
  const viaParent = `restore point: its data is the parent's (verify ${metadata.parentId})`;
  for (const name of [CHECK.checksum, CHECK.decode, CHECK.manifest]) record(skip(name, viaParent));
  try {
    const wal = await assessWal(metadata, storage, []);
    record(wal.consistency);
    record(wal.pitr);
  } catch (caught) {
    const { check, couldNotCheck } = checkFromError(CHECK.walConsistency, caught, 'the WAL archive');
    record(check, couldNotCheck);
  }
  record(skip(CHECK.testRestore, `not run for restore points: test-restore the parent ${metadata.parentId}`));
}

function finish(result: VerifyResult, rows: CheckTable, couldNotCheck: BackupError | undefined, started: number): VerifyResult {
  result.checks = rows.final();
  result.valid = !couldNotCheck && result.checks.every((check) => check.status !== 'fail');
  if (couldNotCheck) result.couldNotCheck = couldNotCheck.toJSON();
  result.durationSeconds = (Date.now() - started) / 1000;
  return result;
}

/**
 * The rows decided so far. A row is handed to the sink once it and every row above it in
 * CHECK_ORDER are decided: the table then fills in top to bottom, and a row never changes after
 * it was shown (Metadata waits for the read, since it compares with backup_manifest). `final()`
 * hands out whatever is left, for runs that end early with some rows absent.
 */
class CheckTable {
  private readonly rows = new Map<CheckName, VerificationCheck>();
  private shown = 0;

  constructor(private readonly sink: (check: VerificationCheck) => void) {}

  set(check: VerificationCheck): void {
    const name = check.name as CheckName;
    if (CHECK_ORDER.indexOf(name) < this.shown) throw new Error(`verify: the ${name} row was decided twice`);
    this.rows.set(name, check);
    while (this.shown < CHECK_ORDER.length && this.rows.has(CHECK_ORDER[this.shown]!)) this.sink(this.rows.get(CHECK_ORDER[this.shown++]!)!);
  }

  has(name: CheckName): boolean {
    return this.rows.has(name);
  }

  final(): VerificationCheck[] {
    for (; this.shown < CHECK_ORDER.length; this.shown++) {
      const row = this.rows.get(CHECK_ORDER[this.shown]!);
      if (row) this.sink(row);
    }
    return CHECK_ORDER.flatMap((name) => (this.rows.has(name) ? [this.rows.get(name)!] : []));
  }
}

async function checkObjectsPresent(metadata: BackupMetadata, storage: Storage): Promise<{ check: VerificationCheck; couldNotCheck?: BackupError; exists: boolean }> {
  if (metadata.objects.length === 0) return { exists: false, check: fail(CHECK.objects, `${metadataKey(metadata.id)} lists no data object`) };
  for (const object of metadata.objects) {
    const info = await storage.head(object.key);
    if (!info) return { exists: false, check: fail(CHECK.objects, `${object.key} is missing from ${storage.location}`) };
    if (info.size !== object.storedSize) return { exists: true, check: fail(CHECK.objects, `${object.key} is ${info.size} bytes, the backup recorded ${object.storedSize}`) };
  }
  const bytes = metadata.objects.reduce((total, object) => total + object.storedSize, 0);
  return { exists: true, check: pass(CHECK.objects, `${metadata.objects.map((o) => o.key).join(', ')} present, ${bytes} bytes as recorded`) };
}

function* streamChecks(metadata: BackupMetadata, key: string, findings: StreamFindings): Generator<[VerificationCheck, BackupError?]> {
  const object = metadata.objects[0]!;
  yield [findings.sha256 === object.sha256
    ? pass(CHECK.checksum, `SHA-256 of ${key} matches: ${findings.sha256.slice(0, 16)}…`)
    : fail(CHECK.checksum, `SHA-256 of ${key} is ${findings.sha256}, the backup recorded ${object.sha256}`)];
  const decode = findings.decode;
  if (!decode) {
    const cause = new BackupError('ENCRYPTION_KEY_MISSING', `${key} is encrypted and no encryption key is configured.`, 'Set BACKUP_ENCRYPTION_PASSPHRASE or pass --encryption-key-file FILE.');
    yield [skip(CHECK.decode, `could not check: ${cause.message}`), cause];
    yield [skip(CHECK.manifest, 'not run: the archive could not be decrypted')];
    return;
  }
  const how = `${metadata.encrypted ? 'every chunk authenticated, ' : ''}${metadata.compression === 'none' ? 'uncompressed' : `${metadata.compression} decoded`}`;
  if (decode.error) {
    const integrity = decode.error.code === 'DATA_CORRUPT' || decode.error.code === 'CHECKSUM_MISMATCH' || decode.error.code === 'ENCRYPTION_KEY_WRONG';
    // A wrong key and a damaged key header look the same; both mean this backup cannot be read as is.
    yield [integrity ? fail(CHECK.decode, `${key}: ${decode.error.message}`) : skip(CHECK.decode, `could not check ${key}: ${decode.error.message}`), integrity ? undefined : decode.error];
    yield [skip(CHECK.manifest, `not run: ${key} could not be decoded to the end`)];
    return;
  }
  yield [decode.rawBytes === object.rawSize
    ? pass(CHECK.decode, `${key}: ${how} to the end, ${decode.rawBytes} bytes`)
    : fail(CHECK.decode, `${key} decodes to ${decode.rawBytes} bytes, the backup recorded ${object.rawSize}`)];
  if (decode.tarError) {
    yield [fail(CHECK.manifest, `${key}: ${decode.tarError.message}`)];
    return;
  }
  const comparison = compareWithManifest(decode.manifest, decode.files);
  if (!comparison.ok) {
    const more = comparison.problems.length > 1 ? ` (and ${comparison.problems.length - 1} more)` : '';
    yield [fail(CHECK.manifest, `${key}: ${comparison.problems[0]}${more}`)];
    return;
  }
  const sizeOnly = comparison.sizeOnlyFiles ? `, ${comparison.sizeOnlyFiles} by size only` : '';
  yield [pass(CHECK.manifest, `${comparison.checkedFiles} files match backup_manifest by size and SHA-256${sizeOnly}; manifest checksum OK`)];
}

async function recordVerification(storage: Storage, metadata: BackupMetadata, result: VerifyResult): Promise<BackupStatus> {
  // A backup that fails keeps being Completed (it may still be what there is to restore), with
  // the failed verification beside it; a Verified one that now fails goes back to Completed.
  const status: BackupStatus = result.valid ? 'Verified' : 'Completed';
  await writeMetadata(storage, { ...metadata, status, verification: { time: result.time, valid: result.valid, checks: result.checks } });
  return status;
}

export interface VerifyAllResult {
  database: string;
  results: VerifyResult[];
  summary: { total: number; valid: number; invalid: number; couldNotCheck: number };
}

/** Every backup of a database, newest first, one after the other (each one read once). */
export async function verifyAllBackups(options: Omit<VerifyOptions, 'backupId'>, deps: VerifyDeps): Promise<VerifyAllResult> {
  const database = options.config.database.toLowerCase();
  const ids = (await listBackupIds(deps.storage)).filter((id) => parseBackupId(id).database === database);
  if (ids.length === 0) throw new BackupError('NO_BACKUPS', `No backups of database "${database}" in ${deps.storage.location}.`, 'Take one with `llm-analytics database backup`.');
  const results: VerifyResult[] = [];
  for (const backupId of ids) results.push(await verifyBackup({ ...options, backupId }, deps));
  const couldNot = results.filter((r) => r.couldNotCheck).length;
  const valid = results.filter((r) => r.valid).length;
  return { database, results, summary: { total: results.length, valid, invalid: results.length - valid - couldNot, couldNotCheck: couldNot } };
}
