import type { ResolvedConfig } from '../config/resolve.js';
import { BackupError } from '../errors.js';

/**
 * The passphrase WAL is stored with, or undefined for --no-encryption. Encryption is on by default
 * as for backups: without a key, archiving fails (PostgreSQL keeps the segment and retries) rather
 * than silently storing plaintext.
 */
export function walPassphrase(config: ResolvedConfig): string | undefined {
  if (!config.encryption) return undefined;
  const passphrase = config.passphrase?.reveal();
  if (!passphrase) {
    throw new BackupError(
      'ENCRYPTION_KEY_MISSING',
      'Encryption is on (the default) but no encryption key is configured for WAL archiving.',
      'Set BACKUP_ENCRYPTION_PASSPHRASE in the server environment or pass --encryption-key-file FILE in archive_command; or --no-encryption.',
    );
  }
  return passphrase;
}
