import { BackupError } from '../../errors.js';

/**
 * Kubernetes exec has no environment, no working directory and no way to kill the command. Every
 * command therefore runs under this small `sh` prologue in the pod:
 * - it reports its pid on stderr's first line (`llm-analytics-pid N`), so the host can kill it
 *   with a second exec (closing the websocket does not stop a process in the container);
 * - it reads `$1` lines `NAME=value` from stdin and exports them: secrets such as PGPASSWORD
 *   travel on stdin, never in argv (argv of an exec is in the API server's audit log and in `ps`);
 * - it enters the directory `$2` when given, reports a missing program unambiguously (exit 127
 *   with a marker line), and runs the command with the rest of stdin according to `$3`:
 *   `-` passes stdin through (the v5 protocol ends it with a close message), `0` gives it
 *   /dev/null, and a byte count N feeds it exactly `head -c N` of the rest — the only way a
 *   command that reads to EOF (psql -f -, cat) can end on a v4 server, which cannot close stdin.
 * `sh` is in every PostgreSQL image; `head` in every one with coreutils or busybox.
 */
const PROLOGUE = [
  'echo "llm-analytics-pid $$" >&2',
  'n=$1; dir=$2; input=$3; shift 3',
  'while [ "$n" -gt 0 ]; do IFS= read -r kv || exit 125; export "$kv"; n=$((n-1)); done',
  'if [ -n "$dir" ]; then cd -- "$dir" || exit 125; fi',
  'command -v -- "$1" >/dev/null 2>&1 || { echo "llm-analytics-exec: $1: not found" >&2; exit 127; }',
  'if [ "$input" = - ]; then exec "$@"; elif [ "$input" = 0 ]; then exec "$@" </dev/null; else head -c "$input" | "$@"; fi',
].join('\n');

export const PID_LINE = /^llm-analytics-pid (\d+)\n/;
export const NOT_FOUND_MARKER = 'llm-analytics-exec: ';

export type InputMode = '-' | number;

export function podArgv(argv: readonly string[], envLines: number, cwd: string | undefined, input: InputMode): string[] {
  return ['sh', '-c', PROLOGUE, 'llm-analytics-exec', String(envLines), cwd ?? '', String(input), ...argv];
}

/** `NAME=value\n` lines for the prologue; a newline in a value would split it, so it is refused. */
export function environmentHeader(env: Record<string, string> | undefined): { lines: number; bytes: Buffer } {
  const entries = Object.entries(env ?? {});
  for (const [name, value] of entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || /[\n\0]/.test(value)) {
      throw new BackupError('INVALID_ARGUMENT', `The environment variable ${name} cannot be passed into a pod: names must be identifiers and values must not contain newlines.`);
    }
  }
  return { lines: entries.length, bytes: Buffer.from(entries.map(([name, value]) => `${name}=${value}\n`).join(''), 'utf8') };
}

/** Stops a command by pid: SIGTERM, then SIGKILL after the grace period. */
export function killArgv(pid: number, graceMs: number): string[] {
  const script = 'kill -TERM "$1" 2>/dev/null || exit 0; i=0; while kill -0 "$1" 2>/dev/null && [ "$i" -lt "$2" ]; do sleep 0.1; i=$((i+1)); done; kill -KILL "$1" 2>/dev/null; exit 0';
  return ['sh', '-c', script, 'llm-analytics-kill', String(pid), String(Math.max(1, Math.ceil(graceMs / 100)))];
}
