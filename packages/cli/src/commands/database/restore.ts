import { Flags } from '@oclif/core';
import { BaseCommand } from '../../baseCommand.js';
import { connectionFlags, kubernetesFlags, databaseFlag, encryptionKeyFlag, outputFlags, repositoryFlags } from '../../flags.js';
import { renderRestore, renderRestorePlan } from '../../render/restore.js';
import { runOperation } from '../../operation.js';
import { pitrFlags } from '../../pitrFlags.js';
import { confirmRestoreRequest, planRestoreRequest, restoreRequest, runRestoreRequest } from '../../restoreRequest.js';

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
    start: Flags.boolean({ allowNo: true, default: true, description: 'Start the restored server (--no-start leaves it stopped; not with --target-namespace or in place)' }),
    'target-database': Flags.string({ description: 'Rename the database after recovery' }),
    force: Flags.boolean({ description: 'Do not ask; move a non-empty target directory aside (kept) instead of refusing' }),
    'skip-validation': Flags.boolean({ description: 'Do not validate the restored database' }),
    'dry-run': Flags.boolean({ description: 'Print the plan; change nothing (in Kubernetes: reads the pod, StatefulSet, namespace and permissions only)' }),
    ...pitrFlags,
    ...repositoryFlags,
    ...encryptionKeyFlag,
    ...connectionFlags,
    ...kubernetesFlags,
    ...outputFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Restore);
    const request = await restoreRequest(flags);
    if (flags['dry-run']) {
      const plan = await planRestoreRequest(request);
      return flags.json ? this.printJson({ dryRun: true, ...plan }) : this.log(renderRestorePlan(plan));
    }
    await confirmRestoreRequest(request);
    const result = await runOperation(flags.json, (signal, progress) => runRestoreRequest(request, signal, progress));
    return flags.json ? this.printJson(result) : this.log(renderRestore(result));
  }
}
