import { Flags } from '@oclif/core';
import { backupStats, listBackups, repositoryStats } from '@llm-analytics/core';
import { BaseCommand } from '../../baseCommand.js';
import { commandContext } from '../../context.js';
import { configInput, databaseFlag, outputFlags, repositoryFlags } from '../../flags.js';
import { renderBackupList } from '../../render/list.js';
import { renderRepositoryStats } from '../../render/verify.js';

export default class ListBackups extends BaseCommand {
  static override summary = 'List the backups in the repository, newest first, with statistics.';
  static override examples = ['<%= config.bin %> database list-backups -d llm_analytics --limit 10', '<%= config.bin %> database list-backups --json'];
  static override flags = {
    ...databaseFlag,
    limit: Flags.integer({ min: 1, description: 'Show at most this many backups' }),
    stats: Flags.boolean({ description: 'Add last verification, restorable PITR window and repository size split data/WAL' }),
    ...repositoryFlags,
    ...outputFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ListBackups);
    const { config, storage } = await commandContext(configInput(flags));
    // Without -d every database's backups are listed; with it, only that database's.
    const all = await listBackups(storage, { database: flags.database });
    const backups = flags.limit ? all.slice(0, flags.limit) : all;
    const stats = backupStats(all);
    const repository = flags.stats ? await repositoryStats(storage, backups) : undefined;
    if (flags.json) {
      this.printJson({ repository: storage.location, database: flags.database ?? null, backups, stats, ...(repository ? { repositoryStats: repository } : {}) });
      return;
    }
    this.log(renderBackupList({ backups, stats, database: flags.database, repository: storage.location, repositoryIsDefault: config.repositoryIsDefault }));
    if (repository) this.log(`\n${renderRepositoryStats(repository)}`);
  }
}
