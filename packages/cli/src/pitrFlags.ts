import { resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { describeRepository, pitrTargetFrom, type PitrTarget, type ResolvedConfig } from '@llm-analytics/core';
import { cliEntryScript } from './cliEntry.js';

/** restore's point-in-time recovery flags (names from the specification). */
export const pitrFlags = {
  'pitr-target': Flags.string({ description: 'Recover to this time (RFC 3339, e.g. 2026-11-24T10:33:12Z)' }),
  'pitr-lsn': Flags.string({ description: 'Recover to this WAL position (e.g. 0/3000028)' }),
  'pitr-xid': Flags.string({ description: 'Recover to this transaction id' }),
  'pitr-name': Flags.string({ description: 'Recover to this named restore point (pg_create_restore_point)' }),
  'pitr-inclusive': Flags.boolean({ allowNo: true, default: true, description: 'Stop just after the target (--no-pitr-inclusive: just before)' }),
  'no-wal-replay': Flags.boolean({ description: 'Do not replay archived WAL: restore the backup as it was taken' }),
};

export function pitrOptions(flags: Record<string, unknown>, config: ResolvedConfig): { target?: PitrTarget; inclusive: boolean; walFetchCommand?: string[] } {
  const target = pitrTargetFrom({
    time: flags['pitr-target'] as string | undefined,
    lsn: flags['pitr-lsn'] as string | undefined,
    xid: flags['pitr-xid'] as string | undefined,
    name: flags['pitr-name'] as string | undefined,
  });
  const inclusive = flags['pitr-inclusive'] as boolean;
  if (flags['no-wal-replay'] && !target) return { inclusive };
  return { target, inclusive, walFetchCommand: walFetchCommand(config, flags['encryption-key-file'] as string | undefined) };
}

/**
 * restore_command's argv: this very CLI by absolute paths (the server's PATH is not ours), with
 * the repository spelled out. No secret goes in: the started server inherits this process's
 * environment (BACKUP_ENCRYPTION_PASSPHRASE, AWS_*), or the key file is named.
 */
function walFetchCommand(config: ResolvedConfig, keyFile?: string): string[] {
  const runJs = cliEntryScript();
  const argv = [process.execPath, runJs, 'database', 'wal-fetch', '--repo', describeRepository(config.repository)];
  if (config.repository.kind === 's3') {
    if (config.repository.endpoint) argv.push('--s3-endpoint', config.repository.endpoint);
    if (config.repository.region) argv.push('--aws-region', config.repository.region);
  }
  if (keyFile) argv.push('--encryption-key-file', resolve(keyFile));
  return argv;
}
