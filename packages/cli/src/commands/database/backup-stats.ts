import { backupStats, listBackups, repositoryStats } from '@llm-analytics/core';
import { BaseCommand } from '../../baseCommand.js';
import { commandContext } from '../../context.js';
import { configInput, databaseFlag, outputFlags, repositoryFlags } from '../../flags.js';
import { renderBackupList } from '../../render/list.js';
import { renderRepositoryStats } from '../../render/verify.js';

export default class BackupStats extends BaseCommand {
  static override summary = 'Statistics: backups, sizes, last verification, restorable PITR window, repository size split data/WAL.';
  static override examples = ['<%= config.bin %> database backup-stats -d llm_analytics', '<%= config.bin %> database backup-stats --json'];
  static override flags = { ...databaseFlag, ...repositoryFlags, ...outputFlags };

  async run(): Promise<void> {
    const { flags } = await this.parse(BackupStats);
    const { config, storage } = await commandContext(configInput(flags));
    const backups = await listBackups(storage, { database: flags.database });
    const stats = backupStats(backups);
    const repository = await repositoryStats(storage, backups);
    if (flags.json) {
      this.printJson({ repository: storage.location, database: flags.database ?? null, stats, ...repository });
      return;
    }
    const list = renderBackupList({ backups, stats, database: flags.database, repository: storage.location, repositoryIsDefault: config.repositoryIsDefault });
    this.log(`${list}\n\n${renderRepositoryStats(repository)}`);
  }
}
