import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../baseCommand.js';
import { runWalFetch } from '../../walFastPath.js';

export default class WalFetch extends BaseCommand {
  static override summary = "Fetch one archived WAL file (PostgreSQL's restore_command).";
  static override description = `restore_command = '<path>/llm-analytics database wal-fetch %f %p'. A file the archive does not have exits 1 quietly (PostgreSQL asks for such files). The file is written to %p.tmp and renamed, never half-written. Other failures exit 126 so PostgreSQL stops recovery instead of ending it early. A restore with the CLI writes this setting itself.

Prefetch (on by default): after fetching a segment, a background prefetcher (one per spool) downloads, checks and syncs the next segments of the same timeline into a spool (default: pg_wal/.llm-analytics-prefetch), and the next calls take them from there after checking their SHA-256. recovery_end_command = '... wal-fetch --clear-spool' removes the spool and stops the prefetcher.`;
  static override examples = [
    "restore_command = 'llm-analytics database wal-fetch --repo s3://bucket/prefix %f %p'",
    "recovery_end_command = 'llm-analytics database wal-fetch --repo s3://bucket/prefix --clear-spool'",
  ];
  static override args = {
    file: Args.string({ required: false, description: 'WAL file name (%f)' }),
    destination: Args.string({ required: false, description: 'Where to write it (%p), relative to PGDATA' }),
  };
  static override flags = {
    repo: Flags.string({ description: 'Repository [env: BACKUP_REPO]' }),
    'encryption-key-file': Flags.string({ description: 'File holding the passphrase [or env: BACKUP_ENCRYPTION_PASSPHRASE]' }),
    pgdata: Flags.string({ description: 'Data directory (default: the working directory)' }),
    'system-id': Flags.string({ description: 'Cluster system identifier (default: read from pg_control)' }),
    prefetch: Flags.integer({ min: 0, max: 64, description: 'Segments to keep ready ahead of PostgreSQL; 0 turns prefetch off [default 8, env: BACKUP_WAL_PREFETCH]' }),
    spool: Flags.string({ description: 'Directory for prefetched segments (default: .llm-analytics-prefetch beside %p, i.e. in pg_wal)' }),
    'clear-spool': Flags.boolean({ description: 'Remove the prefetch spool and stop its prefetcher (recovery_end_command); takes no arguments' }),
  };

  async run(): Promise<void> {
    await this.parse(WalFetch);
    process.exitCode = await runWalFetch(this.argv);
  }
}
