import { Flags } from '@oclif/core';
import { BackupError, planRestore, restore } from '@llm-analytics/core';
import { BaseCommand } from '../../baseCommand.js';
import { confirmOnTerminal } from '../../confirm.js';
import { commandContext } from '../../context.js';
import { configInput, connectionFlags, kubernetesFlags, kubernetesInput, databaseFlag, encryptionKeyFlag, outputFlags, repositoryFlags } from '../../flags.js';
import { renderRestore, renderRestorePlan } from '../../render/restore.js';
import { runOperation } from '../../operation.js';
import { pitrFlags, pitrOptions } from '../../pitrFlags.js';
import { confirmPodRestore, podRestoreMode, runPodRestore } from '../../kubernetesRestore.js';

export default class Restore extends BaseCommand {
  static override summary = 'Restore a backup into a data directory and start it.';
  static override examples = [
    '<%= config.bin %> database restore --backup-id backup-llm_analytics-20261125T120000Z-1a2b3c --pgdata /srv/pg/restored --port 5433',
    '<%= config.bin %> database restore --pgdata /srv/pg/restored --force --json',
    '<%= config.bin %> database restore --pitr-target 2026-11-24T10:33:12Z --pgdata /srv/pg/restored --force',
    '<%= config.bin %> database restore -n llm-analytics-hub --backup-id backup-llm_analytics-20261125T120000Z-1a2b3c --force',
    '<%= config.bin %> database restore -n llm-analytics-hub --target-namespace llm-analytics-staging',
  ];
  static override flags = {
    'backup-id': Flags.string({ description: 'Backup to restore (default: the newest completed backup of -d)' }),
    ...databaseFlag,
    pgdata: Flags.string({ description: 'Target data directory [env: PGDATA]; in Kubernetes default: the pod\'s own (in place)' }),
    port: Flags.integer({ min: 1, max: 65535, default: 5433, description: 'Port of the restored server (with --target-namespace: the local port in the printed port-forward line)' }),
    'target-namespace': Flags.string({ description: 'Kubernetes: restore into a new TimescaleDB pod (and claim) in this namespace, created if absent' }),
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
    const kubernetes = kubernetesInput(flags) ?? (flags['target-namespace'] ? {} : undefined);
    const pgdata = flags.pgdata ?? (kubernetes ? undefined : process.env.PGDATA);
    if (!pgdata && !kubernetes) throw new BackupError('INVALID_ARGUMENT', 'No target data directory given.', 'Pass --pgdata DIR (or set PGDATA).');
    const { config, storage, host } = await commandContext(configInput(flags), kubernetes);
    const mode = kubernetes ? await podRestoreMode(host, config, { ...flags, pgdata }) : 'directory';
    const pitr = pitrOptions(flags, config);
    const common = {
      config,
      backupId: flags['backup-id'],
      skipValidation: flags['skip-validation'],
      targetDatabase: flags['target-database'],
      ...pitr,
      // A server in a pod cannot run wal-fetch: the WAL it needs is staged into the pod.
      stageWal: kubernetes !== undefined && pitr.walFetchCommand !== undefined,
    };
    if (mode !== 'directory') {
      if (flags['dry-run']) throw new BackupError('INVALID_ARGUMENT', '--dry-run is not available for in-place and --target-namespace restores.', 'Run list-backups to see what would be restored.');
      await confirmPodRestore(mode, host, flags['backup-id'] ?? `the newest backup of ${config.database}`, flags);
      const result = await runOperation(flags.json, (signal, progress) => runPodRestore(mode, { ...common, signal }, { targetNamespace: flags['target-namespace'], localPort: flags.port }, { storage, host, progress }));
      return flags.json ? this.printJson(result) : this.log(renderRestore(result));
    }
    const options = { ...common, pgdata: pgdata!, port: flags.port, start: flags.start, force: flags.force };
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
