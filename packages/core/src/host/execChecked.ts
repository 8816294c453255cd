import { BackupError } from '../errors.js';
import { formatCommandLine, stderrTail } from './commandLine.js';
import type { ExecOptions, ExecResult, Host } from './host.js';

/** Runs a command that must succeed: a non-zero exit becomes HOST_COMMAND_FAILED with its stderr. */
export async function execChecked(host: Host, argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
  const result = await host.exec(argv, options);
  if (result.exitCode !== 0) {
    const tail = stderrTail(result.stderr || result.stdout);
    throw new BackupError(
      'HOST_COMMAND_FAILED',
      `${formatCommandLine(argv)} failed on ${host.description} with exit code ${result.exitCode}${tail ? `: ${tail}` : '.'}`,
    );
  }
  return result;
}
