import { Flags } from '@oclif/core';
import { BackupError, planRestore, restore } from '@llm-analytics/core';
import { BaseCommand } from '../../baseCommand.js';
import { confirmOnTerminal } from '../../confirm.js';
import { commandContext } from '../../context.js';
import { configInput, connectionFlags, kubernetesFlags, kubernetesInput, databaseFlag, encryptionKeyFlag, outputFlags, repositoryFlags } from '../../flags.js';
import { renderRestore, renderRestorePlan } from '../../render/restore.js';
import { runOperation } from '../../operation.js';
import { pitrFlags, pitrOptions } from '../../pitrFlags.js';

export default class Restore extends BaseCommand {
  static override summary = 'Restore a backup into a data directory and start it.';
  static override examples = [
    '<%= config.bin %> database restore --backup-id backup-llm_analytics-20261125T120000Z-1a2b3c --pgdata /srv/pg/restored --port 5433',
    '<%= config.bin %> database restore --pgdata /srv/pg/restored --force --json',
    '<%= config.bin %> database restore --pitr-target 2026-11-24T10:33:12Z --pgdata /srv/pg/restored --force',
  ];
  static override flags = {
    'backup-id': Flags.string({ description: 'Backup to restore (default: the newest completed backup of -d)' }),
    ...databaseFlag,
    pgdata: Flags.string({ description: 'Target data directory [env: PGDATA]' }),
    port: Flags.integer({ min: 1, max: 65535, default: 5433, description: 'Port of the restored server' }),
    start: Flags.boolean({ allowNo: true, default: true, description: 'Start the restored server (--no-start leaves it stopped)' }),
    'target-database': Flags.string({ description: 'Rename the database after recovery' }),
    force: Flags.boolean({ description: 'Do not ask; move a non-empty target directory aside (kept) instead of refusing' }),
    'skip-validation': Flags.boolean({ description: 'Do not validate the restored database' }),
    'dry-run': Flags.boolean({ description: 'Print the plan; change nothing' }),
    ...pitrFlags,
    ...repositoryFlags,
    ...encryptionKeyFlag,
    ...connectionFlags,
    ...kubernetesFlags,
    ...outputFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Restore);
    const pgdata = flags.pgdata ?? process.env.PGDATA;
    if (!pgdata) throw new BackupError('INVALID_ARGUMENT', 'No target data directory given.', 'Pass --pgdata DIR (or set PGDATA).');
    const { config, storage, host } = await commandContext(configInput(flags), kubernetesInput(flags));
    const options = {
      config,
      backupId: flags['backup-id'],
      pgdata,
      port: flags.port,
      start: flags.start,
      force: flags.force,
      skipValidation: flags['skip-validation'],
      targetDatabase: flags['target-database'],
      ...pitrOptions(flags, config),
    };
    const { plan } = await planRestore(options, { storage, host });
    if (flags['dry-run']) {
      if (flags.json) this.printJson({ dryRun: true, ...plan });
      else this.log(renderRestorePlan(plan));
      return;
    }
    if (!flags.force) await confirmOnTerminal(`Restore backup ${plan.backupId} into ${plan.pgdata} (port ${plan.port})?`);
    const result = await runOperation(flags.json, (signal, progress) => restore({ ...options, signal }, { storage, host, progress }));
    if (flags.json) this.printJson(result);
    else this.log(renderRestore(result));
  }
}
