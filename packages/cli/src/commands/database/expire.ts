import { Flags } from '@oclif/core';
import { applyExpire, planRepositoryExpire } from '@llm-analytics/core';
import { BaseCommand } from '../../baseCommand.js';
import { confirmOnTerminal } from '../../confirm.js';
import { commandContext } from '../../context.js';
import { configInput, databaseFlag, encryptionKeyFlag, outputFlags, repositoryFlags } from '../../flags.js';
import { renderExpire } from '../../render/expire.js';

export default class Expire extends BaseCommand {
  static override summary = 'Delete expired backups and the archived WAL no remaining backup needs.';
  static override description =
    'Keeps the newest full backup of each database, backups in progress, backups within their retention (or --retention-days), every backup a kept one depends on, and all WAL from the oldest kept backup on. Deletes metadata first, then data, so an interrupted run leaves no backup that looks complete.';
  static override examples = ['<%= config.bin %> database expire --dry-run', '<%= config.bin %> database expire --retention-days 14 --force --json'];
  static override flags = {
    'retention-days': Flags.integer({ min: 1, description: "Expire backups older than this many days (default: each backup's own retention, 30)" }),
    'dry-run': Flags.boolean({ description: 'Print what would be deleted; delete nothing' }),
    force: Flags.boolean({ description: 'Do not ask for confirmation' }),
    ...databaseFlag,
    ...repositoryFlags,
    ...encryptionKeyFlag,
    ...outputFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Expire);
    const { storage } = await commandContext(configInput(flags));
    const plan = await planRepositoryExpire({ retentionDays: flags['retention-days'], database: flags.database }, { storage });
    const nothing = plan.delete.length === 0 && plan.deleteWal.length === 0;
    if (!flags['dry-run'] && !nothing && !flags.force) {
      await confirmOnTerminal(`Delete ${plan.delete.length} backups and ${plan.deleteWal.length} WAL files from ${storage.location}?`, 'expire');
    }
    const applied = flags['dry-run'] || nothing ? undefined : await applyExpire(plan, { storage });
    if (flags.json) this.printJson({ dryRun: flags['dry-run'], ...plan, applied });
    else this.log(renderExpire(plan, flags['dry-run']));
  }
}
