import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../baseCommand.js';
import { runWalPush } from '../../walFastPath.js';

export default class WalPush extends BaseCommand {
  static override summary = "Archive one WAL file (PostgreSQL's archive_command).";
  static override description = `Set archive_command = '<path>/llm-analytics database wal-push %p' (archive_mode = on). Exits 0 only once the file is stored; the same file pushed again with the same content succeeds; different content under an archived name is refused and never overwritten. The repository and key come from the server's environment (BACKUP_REPO, BACKUP_ENCRYPTION_PASSPHRASE, AWS_*) or the flags.`;
  static override examples = ["archive_command = 'llm-analytics database wal-push --repo s3://bucket/prefix %p'"];
  static override args = { path: Args.string({ required: true, description: 'The WAL file (%p), relative to PGDATA' }) };
  static override flags = {
    repo: Flags.string({ description: 'Repository [env: BACKUP_REPO]' }),
    'encryption-key-file': Flags.string({ description: 'File holding the passphrase [or env: BACKUP_ENCRYPTION_PASSPHRASE]' }),
    'no-encryption': Flags.boolean({ description: 'Store WAL unencrypted' }),
    compression: Flags.string({ options: ['zstd', 'lz4', 'gzip', 'none'], description: 'Compression (default zstd)' }),
    pgdata: Flags.string({ description: 'Data directory (default: the working directory, as PostgreSQL runs it)' }),
    'system-id': Flags.string({ description: 'Cluster system identifier (default: read from pg_control)' }),
    parallel: Flags.integer({ min: 1, max: 64, description: 'Push up to N segments at once: the one asked for and those PostgreSQL marked ready after it (needs --spool)' }),
    spool: Flags.string({ description: 'Directory outside PGDATA for push-ahead markers' }),
  };

  async run(): Promise<void> {
    await this.parse(WalPush);
    process.exitCode = await runWalPush(this.argv);
  }
}
