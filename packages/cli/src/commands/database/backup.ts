import { Flags } from '@oclif/core';
import { backup, planBackup, type BackupType } from '@llm-analytics/core';
import { BaseCommand } from '../../baseCommand.js';
import { commandContext } from '../../context.js';
import { configInput, connectionFlags, kubernetesFlags, kubernetesInput, databaseFlag, encryptionKeyFlag, outputFlags, repositoryFlags } from '../../flags.js';
import { renderBackup, renderBackupPlan } from '../../render/backup.js';
import { runOperation } from '../../operation.js';

const TYPES: Record<string, BackupType> = { full: 'Full', incremental: 'Incremental', differential: 'Differential' };

export default class Backup extends BaseCommand {
  static override summary = 'Create a database backup (pg_basebackup, streamed to the repository).';
  static override examples = [
    '<%= config.bin %> database backup -d llm_analytics',
    '<%= config.bin %> database backup --s3-bucket my-backups --s3-prefix timescaledb/prod --aws-region us-west-2',
    '<%= config.bin %> database backup --no-encryption --no-compression --json',
  ];
  static override flags = {
    ...databaseFlag,
    type: Flags.string({ char: 't', options: Object.keys(TYPES), default: 'full', description: 'Backup type' }),
    ...repositoryFlags,
    encryption: Flags.boolean({ allowNo: true, default: true, description: 'Encrypt client-side (AES-256-GCM) and request S3 SSE' }),
    ...encryptionKeyFlag,
    compression: Flags.string({ options: ['zstd', 'lz4', 'gzip', 'none'], description: 'Compression (default zstd)' }),
    'no-compression': Flags.boolean({ description: 'Store the tar uncompressed (same as --compression none)' }),
    'retention-days': Flags.integer({ description: 'Days to keep this backup (default 30)' }),
    'dry-run': Flags.boolean({ description: 'Print the plan (source, destination objects, options); touch nothing' }),
    ...connectionFlags,
    ...kubernetesFlags,
    ...outputFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Backup);
    const compression = flags['no-compression'] ? 'none' : (flags.compression as 'zstd' | 'lz4' | 'gzip' | 'none' | undefined);
    const { config, storage, host } = await commandContext({ ...configInput(flags), compression, encryption: flags.encryption, retentionDays: flags['retention-days'] }, kubernetesInput(flags));
    const options = { config, type: TYPES[flags.type]! };
    if (flags['dry-run']) {
      const plan = planBackup(options, { storage, host });
      if (flags.json) this.printJson({ dryRun: true, ...plan });
      else this.log(renderBackupPlan(plan, config.repositoryIsDefault));
      return;
    }
    const result = await runOperation(flags.json, (signal, progress) => backup({ ...options, signal }, { storage, host, progress }));
    if (flags.json) this.printJson(result.metadata);
    else this.log(renderBackup(result.metadata, result.messages));
  }
}
