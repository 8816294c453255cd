import { Flags } from '@oclif/core';
import { runServer } from '@llm-analytics/api';
import { BaseCommand } from '../baseCommand.js';
import { configInput, connectionFlags, databaseFlag, encryptionKeyFlag, repositoryFlags } from '../flags.js';
import { pitrOptions } from '../pitrFlags.js';

export default class Serve extends BaseCommand {
  static override summary = 'Serve the HTTP API: backups, restores and verification as jobs, live progress (SSE), metrics.';
  static override examples = [
    '<%= config.bin %> serve',
    'BACKUP_API_TOKENS="$(cat /etc/backup-api/tokens)" <%= config.bin %> serve --host 0.0.0.0 --port 8080 --repo s3://my-backups/timescaledb',
  ];
  static override flags = {
    host: Flags.string({ default: '127.0.0.1', description: 'Address to listen on; a non-loopback address needs a token' }),
    port: Flags.integer({ default: 8080, min: 0, max: 65_535, description: 'Port to listen on' }),
    'token-file': Flags.string({ description: 'File of bearer tokens, one "token:read" or "token:operate" a line [or env: BACKUP_API_TOKENS, BACKUP_API_TOKEN_FILE]' }),
    'shutdown-timeout': Flags.integer({ default: 30, min: 0, description: 'Seconds SIGTERM/SIGINT lets running jobs finish before cancelling them' }),
    ...databaseFlag,
    ...repositoryFlags,
    ...encryptionKeyFlag,
    ...connectionFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    const server = await runServer({
      host: flags.host,
      port: flags.port,
      tokenFile: flags['token-file'],
      shutdownTimeoutMs: flags['shutdown-timeout'] * 1000,
      config: configInput(flags),
      // restore_command of API restores: this CLI's wal-fetch, as `database restore` uses it.
      walFetchCommand: (config) => pitrOptions({ 'pitr-inclusive': true, 'encryption-key-file': flags['encryption-key-file'] }, config).walFetchCommand,
    });
    await server.closed;
  }
}
