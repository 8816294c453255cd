import { BackupError, asBackupError, type ErrorCode } from '../errors.js';
import type { VerificationCheck } from '../types/metadata.js';

/**
 * The rows of verify-backup's check table, in the order they are reported. Each name is a
 * stable string: it is stored in backup.json (`verification.checks[].name`) and read by scripts.
 */
export const CHECK = {
  objects: 'Objects present',
  metadata: 'Metadata',
  checksum: 'Checksum',
  decode: 'Decrypt & decompress',
  manifest: 'Files vs manifest',
  walConsistency: 'WAL for consistency',
  walPitr: 'WAL for PITR',
  testRestore: 'Test restore',
} as const;
export type CheckName = (typeof CHECK)[keyof typeof CHECK];
export const CHECK_ORDER: readonly CheckName[] = Object.values(CHECK);

export const pass = (name: CheckName, message: string): VerificationCheck => ({ name, status: 'pass', message });
export const fail = (name: CheckName, message: string): VerificationCheck => ({ name, status: 'fail', message });
export const warn = (name: CheckName, message: string): VerificationCheck => ({ name, status: 'warn', message });
export const skip = (name: CheckName, message: string): VerificationCheck => ({ name, status: 'skip', message });

/**
 * Codes that say the backup itself is bad. Anything else (storage unreachable, a missing key, a
 * host command that would not run) means the check could not be made: "could not check" is
 * reported as its own outcome with its own exit code, never as "invalid".
 */
const INTEGRITY_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'DATA_CORRUPT',
  'CHECKSUM_MISMATCH',
  'METADATA_INVALID',
  'OBJECT_NOT_FOUND',
  'RESTORE_VALIDATION_FAILED',
  'RECOVERY_FAILED',
  'BACKUP_INVALID',
]);

export function isIntegrityFailure(error: BackupError): boolean {
  return INTEGRITY_CODES.has(error.code);
}

/** A check that threw: a failed row for integrity errors, a skipped row plus the cause otherwise. */
export function checkFromError(name: CheckName, caught: unknown, where: string): { check: VerificationCheck; couldNotCheck?: BackupError } {
  const error = asBackupError(caught);
  if (isIntegrityFailure(error)) return { check: fail(name, `${where}: ${error.message}`) };
  return { check: skip(name, `could not check ${where}: ${error.message}`), couldNotCheck: error };
}
