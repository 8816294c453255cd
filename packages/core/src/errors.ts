/**
 * The one table of error codes. Every failure the tool reports is a BackupError with a stable
 * `code`, a message that says what happened, and a `hint` that says what to do. The CLI maps the
 * code to an exit code, the API to an HTTP status: both read this table and nothing else.
 */
export const ERROR_CODES = {
  INVALID_ARGUMENT: { exit: 2, http: 400 },
  INVALID_BACKUP_ID: { exit: 2, http: 400 },
  INVALID_REPOSITORY: { exit: 2, http: 400 },
  INVALID_TIMESTAMP: { exit: 2, http: 400 },
  CONFIRMATION_REQUIRED: { exit: 3, http: 400 },
  BACKUP_NOT_FOUND: { exit: 4, http: 404 },
  OBJECT_NOT_FOUND: { exit: 4, http: 404 },
  NO_BACKUPS: { exit: 4, http: 404 },
  TARGET_NOT_EMPTY: { exit: 5, http: 409 },
  TARGET_IN_USE: { exit: 5, http: 409 },
  BACKUP_IN_PROGRESS: { exit: 5, http: 409 },
  OBJECT_EXISTS: { exit: 5, http: 409 },
  STORAGE_UNREACHABLE: { exit: 6, http: 503 },
  STORAGE_ACCESS_DENIED: { exit: 6, http: 503 },
  STORAGE_BUCKET_MISSING: { exit: 6, http: 503 },
  STORAGE_ERROR: { exit: 6, http: 503 },
  DATABASE_UNREACHABLE: { exit: 7, http: 503 },
  DATABASE_ERROR: { exit: 7, http: 500 },
  HOST_COMMAND_FAILED: { exit: 7, http: 500 },
  KUBERNETES_UNREACHABLE: { exit: 7, http: 503 },
  KUBERNETES_AUTH_FAILED: { exit: 7, http: 503 },
  KUBERNETES_FORBIDDEN: { exit: 7, http: 503 },
  POD_NOT_FOUND: { exit: 4, http: 404 },
  ENCRYPTION_KEY_MISSING: { exit: 8, http: 400 },
  ENCRYPTION_KEY_WRONG: { exit: 8, http: 400 },
  DATA_CORRUPT: { exit: 9, http: 422 },
  CHECKSUM_MISMATCH: { exit: 9, http: 422 },
  METADATA_INVALID: { exit: 9, http: 422 },
  /** verify-backup ran every check it could and at least one failed: the backup is not usable. */
  BACKUP_INVALID: { exit: 13, http: 422 },
  RESTORE_VALIDATION_FAILED: { exit: 10, http: 500 },
  RECOVERY_FAILED: { exit: 10, http: 500 },
  PITR_OUT_OF_RANGE: { exit: 11, http: 422 },
  WAL_ARCHIVE_INCOMPLETE: { exit: 12, http: 409 },
  CANCELLED: { exit: 130, http: 499 },
  // HTTP API only (the CLI never raises them).
  UNAUTHORIZED: { exit: 2, http: 401 },
  FORBIDDEN: { exit: 2, http: 403 },
  JOB_NOT_FOUND: { exit: 4, http: 404 },
  ROUTE_NOT_FOUND: { exit: 4, http: 404 },
  REQUEST_TOO_LARGE: { exit: 2, http: 413 },
  NOT_IMPLEMENTED: { exit: 1, http: 501 },
  INTERNAL: { exit: 1, http: 500 },
} as const satisfies Record<string, { exit: number; http: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class BackupError extends Error {
  override readonly name = 'BackupError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return { code: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

export function isBackupError(error: unknown): error is BackupError {
  return error instanceof BackupError;
}

/** Wraps anything thrown into a BackupError, keeping typed errors as they are. */
export function asBackupError(error: unknown): BackupError {
  if (isBackupError(error)) return error;
  if (error instanceof Error && error.name === 'AbortError') {
    return new BackupError('CANCELLED', 'The operation was cancelled.', undefined, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new BackupError('INTERNAL', `Unexpected error: ${message}`, 'This is a bug; please report it with the command you ran.', { cause: error });
}
