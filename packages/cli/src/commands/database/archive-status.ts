import { archiveStatus } from '@llm-analytics/core';
import { BaseCommand } from '../../baseCommand.js';
import { commandContext } from '../../context.js';
import { configInput, connectionFlags, outputFlags, repositoryFlags } from '../../flags.js';
import { renderArchiveStatus } from '../../render/archiveStatus.js';

export default class ArchiveStatus extends BaseCommand {
  static override summary = 'WAL archive: last archived segment and time, gaps, and the server archiver failures.';
  static override examples = ['<%= config.bin %> database archive-status', '<%= config.bin %> database archive-status --pg-port 5432 --json'];
  static override flags = { ...repositoryFlags, ...connectionFlags, ...outputFlags };

  async run(): Promise<void> {
    const { flags } = await this.parse(ArchiveStatus);
    const { config, storage, host } = await commandContext(configInput(flags));
    // The server's own counters when it can be reached (PGHOST/PGPORT or flags).
    const withServer = Boolean(config.connection.host || config.connection.port);
    const status = await archiveStatus(storage, withServer ? { connection: config.connection, host, binDir: config.pgBinDir } : {});
    if (flags.json) this.printJson(status);
    else this.log(renderArchiveStatus(status));
  }
}
