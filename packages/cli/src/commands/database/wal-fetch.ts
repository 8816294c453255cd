import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../baseCommand.js';
import { runWalFetch } from '../../walFastPath.js';

export default class WalFetch extends BaseCommand {
  static override summary = "Fetch one archived WAL file (PostgreSQL's restore_command).";
  static override description = `restore_command = '<path>/llm-analytics database wal-fetch %f %p'. A file the archive does not have exits 1 quietly (PostgreSQL asks for such files). The file is written to %p.tmp and renamed, never half-written. Other failures exit 126 so PostgreSQL stops recovery instead of ending it early. A restore with the CLI writes this setting itself.`;
  static override args = {
    file: Args.string({ required: true, description: 'WAL file name (%f)' }),
    destination: Args.string({ required: true, description: 'Where to write it (%p), relative to PGDATA' }),
  };
  static override flags = {
    repo: Flags.string({ description: 'Repository [env: BACKUP_REPO]' }),
    'encryption-key-file': Flags.string({ description: 'File holding the passphrase [or env: BACKUP_ENCRYPTION_PASSPHRASE]' }),
    pgdata: Flags.string({ description: 'Data directory (default: the working directory)' }),
    'system-id': Flags.string({ description: 'Cluster system identifier (default: read from pg_control)' }),
  };

  async run(): Promise<void> {
    await this.parse(WalFetch);
    process.exitCode = await runWalFetch(this.argv);
  }
}
