import { Flags } from '@oclif/core';
import { BaseCommand } from '../baseCommand.js';
import { commandContext } from '../context.js';
import { configInput, connectionFlags, databaseFlag, encryptionKeyFlag, kubernetesFlags, kubernetesInput, repositoryFlags } from '../flags.js';
import { pitrOptions } from '../pitrFlags.js';

export default class Tui extends BaseCommand {
  static override summary = 'Browse, verify, back up and restore interactively (terminal UI).';
  static override description = 'Needs an interactive terminal. Keys: j/k or arrows move, / filter, s sort, Enter details, v verify (t: with a test restore), r restore (with Kubernetes options also into a new pod in a namespace), b backup, ? help, q quit.';
  static override examples = [
    '<%= config.bin %> tui --repo /srv/backups',
    'BACKUP_REPO=s3://bucket/prefix <%= config.bin %> tui -d llm_analytics',
    '<%= config.bin %> tui -n llm-analytics-hub --pod timescaledb-0 --repo s3://bucket/prefix',
  ];
  static override flags = {
    ...databaseFlag,
    ...repositoryFlags,
    ...encryptionKeyFlag,
    ...connectionFlags,
    ...kubernetesFlags,
    'scratch-dir': Flags.string({ description: 'Parent directory of test restores started from the verify screen (default: the temp directory)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Tui);
    // React's production build: the development build checks every render and is several times slower.
    process.env.NODE_ENV ??= 'production';
    // Ink draws only a final frame when CI/CONTINUOUS_INTEGRATION is set (read once, at import).
    // On a real terminal a person is watching, whatever the environment says: draw every frame.
    if (process.stdin.isTTY && process.stdout.isTTY) {
      delete process.env.CI;
      delete process.env.CONTINUOUS_INTEGRATION;
    }
    const { coreDeps, runTui } = await import('@llm-analytics/tui');
    // With Kubernetes options PostgreSQL is in a pod, as for every command; the restore wizard then
    // also offers a new pod in a namespace (restore --target-namespace).
    const kubernetes = kubernetesInput(flags);
    const context = await commandContext(configInput(flags), kubernetes);
    // A point-in-time restore replays WAL through this CLI's wal-fetch, as `database restore` does.
    const { walFetchCommand } = pitrOptions({ 'encryption-key-file': flags['encryption-key-file'] }, context.config);
    await runTui(coreDeps({ ...context, walFetchCommand, scratchDir: flags['scratch-dir'], inKubernetes: kubernetes !== undefined }));
  }
}
