/**
 * wal-push and wal-fetch without oclif: PostgreSQL runs them once per 16 MiB segment, so start-up
 * time is archiving throughput. bin/run.js imports this module directly for those two commands
 * (only the core modules they use are loaded); the oclif commands of the same names call it too,
 * so `--help` and the behaviour are the same.
 *
 * Exit codes: 0 stored/fetched; wal-fetch of a file the archive does not have: 1, silently
 * (PostgreSQL asks for such files routinely). Any other wal-fetch failure (storage unreachable,
 * damaged or unauthenticated object) exits 126 after retries: PostgreSQL treats an exit code
 * above 125 as fatal and stops recovery, instead of taking it as "end of WAL" and promoting early.
 * wal-push failures use the error table's codes: PostgreSQL keeps the segment and retries.
 */
import type { ConfigInput } from '@llm-analytics/core/config/resolve';

export const WAL_FETCH_FAILED_EXIT = 126;

const VALUE_FLAGS: Record<string, keyof ConfigInput | 'pgdata' | 'systemId' | 'parallel' | 'spool'> = {
  repo: 'repo',
  's3-bucket': 's3Bucket',
  's3-prefix': 's3Prefix',
  'aws-region': 'awsRegion',
  's3-endpoint': 's3Endpoint',
  'encryption-key-file': 'encryptionKeyFile',
  compression: 'compression',
  pgdata: 'pgdata',
  'system-id': 'systemId',
  parallel: 'parallel',
  spool: 'spool',
};

export interface WalArguments {
  positional: string[];
  input: ConfigInput;
  pgdata?: string;
  systemId?: string;
  parallel?: number;
  spool?: string;
}

export function parseWalArguments(argv: readonly string[]): WalArguments {
  const result: WalArguments = { positional: [], input: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--') || arg === '--') {
      result.positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (name === 'no-encryption') result.input.encryption = false;
    else if (name === 'encryption') result.input.encryption = true;
    else if (name === 'no-compression') result.input.compression = 'none';
    else if (VALUE_FLAGS[name]) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw usage(`--${name} needs a value`);
      const key = VALUE_FLAGS[name]!;
      if (key === 'pgdata') result.pgdata = value;
      else if (key === 'systemId') result.systemId = value;
      else if (key === 'spool') result.spool = value;
      else if (key === 'parallel') {
        result.parallel = Number(value);
        if (!Number.isInteger(result.parallel) || result.parallel < 1 || result.parallel > 64) throw usage('--parallel takes a whole number from 1 to 64');
      }
      else (result.input as Record<string, unknown>)[key] = value;
    } else throw usage(`unknown flag --${name}`);
  }
  if ((result.parallel ?? 1) > 1 && !result.spool) throw usage('--parallel needs --spool DIR (a directory outside PGDATA for push-ahead markers)');
  if (result.input.compression && !['zstd', 'lz4', 'gzip', 'none'].includes(result.input.compression)) throw usage(`unknown compression ${result.input.compression}`);
  return result;
}

function usage(message: string): Error & { usage: true } {
  return Object.assign(new Error(message), { usage: true as const });
}

async function context(args: WalArguments) {
  const [{ resolveConfig }, { openStorage }] = await Promise.all([import('@llm-analytics/core/config/resolve'), import('@llm-analytics/core/storage/repository')]);
  const config = resolveConfig(args.input);
  return { config, storage: openStorage(config.repository), pgdata: args.pgdata ?? process.cwd() };
}

export async function runWalPush(argv: readonly string[]): Promise<number> {
  try {
    const args = parseWalArguments(argv);
    if (args.positional.length !== 1) throw usage('wal-push takes one argument: the WAL file path (%p)');
    const { config, storage, pgdata } = await context(args);
    const options = { config, path: args.positional[0]!, pgdata, systemIdentifier: args.systemId };
    const result =
      args.spool && (args.parallel ?? 1) > 1
        ? await (await import('@llm-analytics/core/wal/walPushAhead')).walPushAhead({ ...options, ahead: { spoolDir: args.spool, parallel: args.parallel! } }, { storage })
        : await (await import('@llm-analytics/core/wal/walPush')).walPush(options, { storage });
    const ahead = (result as { pushedAhead?: string[] }).pushedAhead ?? [];
    if (ahead.length) process.stderr.write(`wal-push: pushed ahead ${ahead.join(', ')}\n`);
    if (result.alreadyArchived && result.key) process.stderr.write(`wal-push: ${result.fileName} was already archived with the same content\n`);
    return 0;
  } catch (error) {
    return report('wal-push', error);
  }
}

export async function runWalFetch(argv: readonly string[]): Promise<number> {
  let args: WalArguments;
  try {
    args = parseWalArguments(argv);
    if (args.positional.length !== 2) throw usage('wal-fetch takes two arguments: the WAL file name (%f) and the destination path (%p)');
  } catch (error) {
    return report('wal-fetch', error);
  }
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const { config, storage, pgdata } = await context(args);
      const { walFetch } = await import('@llm-analytics/core/wal/walFetch');
      const result = await walFetch({ config, fileName: args.positional[0]!, destination: args.positional[1]!, pgdata, systemIdentifier: args.systemId }, { storage });
      return result.found ? 0 : 1;
    } catch (error) {
      lastError = error;
      const code = (error as { code?: string }).code;
      // Only an unreachable or failing storage is worth retrying; a wrong key or bad name is not.
      if (!code?.startsWith('STORAGE_')) break;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
  report('wal-fetch', lastError);
  return WAL_FETCH_FAILED_EXIT;
}

function report(command: string, error: unknown): number {
  const typed = error as { code?: string; message?: string; hint?: string; exitCode?: number; usage?: boolean };
  if (typed.usage) {
    process.stderr.write(`${command}: ${typed.message}\n`);
    return 2;
  }
  process.stderr.write(`${command}: error [${typed.code ?? 'INTERNAL'}]: ${typed.message ?? String(error)}\n`);
  if (typed.hint) process.stderr.write(`hint: ${typed.hint}\n`);
  return typeof typed.exitCode === 'number' ? typed.exitCode : 1;
}
