import { Flags } from '@oclif/core';
import { BackupError, ERROR_CODES, verifyAllBackups, verifyBackup, type VerifyResult } from '@llm-analytics/core';
import { BaseCommand } from '../../baseCommand.js';
import { commandContext } from '../../context.js';
import { configInput, connectionFlags, databaseFlag, encryptionKeyFlag, kubernetesFlags, kubernetesInput, outputFlags, repositoryFlags } from '../../flags.js';
import { runOperation } from '../../operation.js';
import { renderVerification, renderVerifyAll } from '../../render/verify.js';

export default class VerifyBackup extends BaseCommand {
  static override summary = 'Prove a backup restores: objects, checksums, decryption, every file against backup_manifest, WAL, and optionally a real test restore.';
  static override examples = [
    '<%= config.bin %> database verify-backup --backup-id backup-llm_analytics-20261125T120000Z-1a2b3c',
    '<%= config.bin %> database verify-backup --all -d llm_analytics --test-restore --json',
  ];
  static override flags = {
    'backup-id': Flags.string({ description: 'Backup to verify', exclusive: ['all'] }),
    all: Flags.boolean({ description: 'Verify every backup of -d, newest first, with a summary' }),
    ...databaseFlag,
    'test-restore': Flags.boolean({ description: 'Also restore into a scratch directory, start it and read every table; removed afterwards' }),
    'scratch-dir': Flags.string({ description: 'Parent directory of the test restore (default: the temp directory)' }),
    'test-namespace': Flags.string({ description: 'Kubernetes: test-restore in a temporary pod in this namespace (created if absent); everything created is deleted afterwards' }),
    'no-record': Flags.boolean({ description: 'Do not write the outcome into backup.json' }),
    ...repositoryFlags,
    ...encryptionKeyFlag,
    ...connectionFlags,
    ...kubernetesFlags,
    ...outputFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(VerifyBackup);
    if (!flags['backup-id'] && !flags.all) throw new BackupError('INVALID_ARGUMENT', 'Which backup? Pass --backup-id ID or --all.', 'Run list-backups to see the ids.');
    const kubernetes = kubernetesInput(flags) ?? (flags['test-namespace'] ? {} : undefined);
    const { config, storage, host } = await commandContext(configInput(flags), kubernetes);
    const testRestore = flags['test-restore'] || flags['test-namespace'] !== undefined;
    const options = { config, testRestore, scratchDir: flags['scratch-dir'], testNamespace: flags['test-namespace'], record: !flags['no-record'] };
    const results = await runOperation(flags.json, async (signal, progress): Promise<VerifyResult[]> => {
      if (flags.all) {
        const all = await verifyAllBackups({ ...options, signal }, { storage, host, progress });
        this.print(flags.json, all, () => renderVerifyAll(all));
        return all.results;
      }
      const result = await verifyBackup({ ...options, backupId: flags['backup-id']!, signal }, { storage, host, progress });
      this.print(flags.json, result, () => renderVerification(result));
      return [result];
    });
    process.exitCode = exitCodeOf(results);
  }

  private print(json: boolean | undefined, value: unknown, render: () => string): void {
    if (json) this.printJson(value);
    else this.log(render());
  }
}

/** 0 only when every backup passed; "invalid" outranks "could not check". */
function exitCodeOf(results: readonly VerifyResult[]): number {
  if (results.some((r) => !r.valid && !r.couldNotCheck)) return ERROR_CODES.BACKUP_INVALID.exit;
  const incomplete = results.find((r) => r.couldNotCheck);
  if (incomplete) return ERROR_CODES[incomplete.couldNotCheck!.code as keyof typeof ERROR_CODES]?.exit ?? 1;
  return 0;
}
