/**
 * How a command line appears in messages. Arguments are shown as given: callers keep secrets
 * (passwords, keys) in the environment, never in argv, so this text is safe to print and log.
 */
const MAX_ARG_LENGTH = 200;
const SAFE_ARG = /^[A-Za-z0-9_\-+=.,/:@%^]+$/;

export function formatCommandLine(argv: readonly string[]): string {
  return argv.map(formatArg).join(' ');
}

function formatArg(arg: string): string {
  const shown = arg.length > MAX_ARG_LENGTH ? `${arg.slice(0, MAX_ARG_LENGTH)}…` : arg;
  return SAFE_ARG.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`;
}

/** The last lines of a command's stderr, enough to say what went wrong without flooding. */
export function stderrTail(stderr: string, maxChars = 2000): string {
  const trimmed = stderr.trim();
  return trimmed.length > maxChars ? `…${trimmed.slice(-maxChars)}` : trimmed;
}
