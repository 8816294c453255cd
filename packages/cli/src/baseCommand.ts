import { Command, Errors } from '@oclif/core';
import { BackupError, asBackupError } from '@llm-analytics/core';

/**
 * Every command: errors become one line "error [CODE]: what happened" + "hint: what to do" on
 * stderr (or one JSON object on stdout with --json), and a distinct exit code from core's table.
 */
export abstract class BaseCommand extends Command {
  protected jsonMode(): boolean {
    return this.argv.includes('--json');
  }

  protected printJson(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  protected override async catch(caught: Error & { exitCode?: number }): Promise<unknown> {
    const error = toBackupError(caught);
    if (this.jsonMode()) {
      this.printJson({ error: error.toJSON() });
    } else {
      process.stderr.write(`error [${error.code}]: ${error.message}\n`);
      if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    }
    process.exitCode = error.exitCode;
    return undefined;
  }
}

/** oclif's own parse errors (unknown flag, bad option value) are invalid arguments too. */
function toBackupError(caught: Error): BackupError {
  if (caught instanceof Errors.CLIError && !(caught instanceof BackupError)) {
    const message = caught.message.split('\n')[0] ?? caught.message;
    return new BackupError('INVALID_ARGUMENT', message, 'Run the command with --help to see its flags.');
  }
  return asBackupError(caught);
}
