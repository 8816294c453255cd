import { BackupError, isBackupError } from '../errors.js';

const CORRUPT_HINT =
  'The stored object is damaged or was modified after it was written. Run verify on the backup, and restore from another backup if it fails.';

/** A stored object that cannot be decoded: never a raw library error, never partial garbage. */
export function dataCorrupt(message: string, cause?: unknown): BackupError {
  return new BackupError('DATA_CORRUPT', message, CORRUPT_HINT, cause === undefined ? undefined : { cause });
}

export function wrongPassphrase(cause?: unknown): BackupError {
  return new BackupError(
    'ENCRYPTION_KEY_WRONG',
    'The passphrase does not match the one this object was encrypted with.',
    'The passphrase comes from BACKUP_ENCRYPTION_PASSPHRASE or the file given with --encryption-key-file; use the one that was set when the backup was taken. If you are sure it is right, the object header may be damaged: run verify.',
    cause === undefined ? undefined : { cause },
  );
}

export function passphraseMissing(): BackupError {
  return new BackupError(
    'ENCRYPTION_KEY_MISSING',
    'This object is encrypted and no passphrase was given.',
    'Set BACKUP_ENCRYPTION_PASSPHRASE or pass --encryption-key-file with the passphrase used when the backup was taken.',
  );
}

export function cancelled(): BackupError {
  return new BackupError('CANCELLED', 'The operation was cancelled.');
}

export function invalidPipelineOption(message: string): BackupError {
  return new BackupError('INVALID_ARGUMENT', message);
}

/** Decoder failures (zstd, zlib, lz4 messages) become DATA_CORRUPT; typed errors pass through. */
export function asDecodeError(error: unknown, where: string): BackupError {
  if (isBackupError(error)) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return dataCorrupt(`The stored data could not be decoded ${where}: ${detail}.`, error);
}
