/**
 * wal-push and wal-fetch without oclif: PostgreSQL runs them once per 16 MiB segment, so start-up
 * time is archiving throughput. bin/run.js imports this module directly for those two commands
 * (only the core modules they use are loaded); the oclif commands of the same names call it too,
 * so `--help` and the behaviour are the same.
 *
 * Exit codes: 0 stored/fetched; wal-fetch of a file the archive does not have: 1, silently
 * (PostgreSQL asks for such files routinely). Any other wal-fetch failure (storage unreachable,
 * damaged or unauthenticated object, a usage error) exits 126, after retries where retrying can
 * help: PostgreSQL treats an exit code above 125 as fatal and stops recovery, instead of taking it
 * as "end of WAL" and promoting early.
 * wal-push failures use the error table's codes: PostgreSQL keeps the segment and retries.
 */
import { appendFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ConfigInput } from '@llm-analytics/core/config/resolve';
import { DEFAULT_PREFETCH_DEPTH, MAX_PREFETCH_DEPTH } from '@llm-analytics/core/wal/walSpool';
import { cliEntryScript } from './cliEntry.js';

export const WAL_FETCH_FAILED_EXIT = 126;

type OwnFlag = 'pgdata' | 'systemId' | 'parallel' | 'spool' | 'prefetch' | 'prefetchWorker';
const OWN_FLAGS: Record<string, OwnFlag> = { pgdata: 'pgdata', 'system-id': 'systemId', parallel: 'parallel', spool: 'spool', prefetch: 'prefetch', 'prefetch-worker': 'prefetchWorker' };
/** Flags that are configuration, as `resolveConfig` takes them. */
const VALUE_FLAGS: Record<string, keyof ConfigInput> = {
  repo: 'repo',
  's3-bucket': 's3Bucket',
  's3-prefix': 's3Prefix',
  'aws-region': 'awsRegion',
  's3-endpoint': 's3Endpoint',
  'encryption-key-file': 'encryptionKeyFile',
  compression: 'compression',
};

export interface WalArguments {
  positional: string[];
  input: ConfigInput;
  pgdata?: string;
  systemId?: string;
  parallel?: number;
  /** wal-push: push-ahead markers; wal-fetch: where prefetched segments wait. */
  spool?: string;
  /** wal-fetch: segments to prefetch (0: off). */
  prefetch?: number;
  /** wal-fetch --clear-spool (recovery_end_command). */
  clearSpool?: boolean;
  /** Internal: run as the prefetcher of this spool directory. */
  prefetchWorker?: string;
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
    else if (name === 'clear-spool') result.clearSpool = true;
    else if (VALUE_FLAGS[name] || OWN_FLAGS[name]) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw usage(`--${name} needs a value`);
      const own = OWN_FLAGS[name];
      if (own === 'parallel') {
        result.parallel = Number(value);
        if (!Number.isInteger(result.parallel) || result.parallel < 1 || result.parallel > 64) throw usage('--parallel takes a whole number from 1 to 64');
      } else if (own === 'prefetch') {
        result.prefetch = Number(value);
        if (!Number.isInteger(result.prefetch) || result.prefetch < 0 || result.prefetch > MAX_PREFETCH_DEPTH) throw usage(`--prefetch takes a whole number from 0 (off) to ${MAX_PREFETCH_DEPTH}`);
      } else if (own) result[own] = value;
      else (result.input as Record<string, unknown>)[VALUE_FLAGS[name]!] = value;
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
    if (args.prefetch !== undefined || args.clearSpool || args.prefetchWorker) throw usage('--prefetch and --clear-spool are wal-fetch flags');
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
    const wanted = args.clearSpool || args.prefetchWorker ? 0 : 2;
    if (args.positional.length !== wanted) throw usage(wanted ? 'wal-fetch takes two arguments: the WAL file name (%f) and the destination path (%p)' : 'wal-fetch --clear-spool takes no arguments');
  } catch (error) {
    report('wal-fetch', error);
    // A restore_command with a wrong flag must stop recovery, not read as "end of WAL".
    return WAL_FETCH_FAILED_EXIT;
  }
  if (args.prefetchWorker) return runPrefetchWorker(args, args.prefetchWorker);
  if (args.clearSpool) return runClearSpool(args);
  const [fileName, destinationArgument] = args.positional as [string, string];
  const pgdata = args.pgdata ?? process.cwd();
  const destination = resolve(pgdata, destinationArgument);
  const spool = await prefetchSpool(args, fileName, destination, pgdata).catch(() => undefined);
  // The fast path: PostgreSQL asks for the segment the prefetcher already holds.
  if (spool?.served) {
    await spool.keepPrefetching(spool.served).catch(() => {});
    return 0;
  }
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const { config, storage } = await context(args);
      const { walFetch } = await import('@llm-analytics/core/wal/walFetch');
      const result = await walFetch({ config, fileName, destination, pgdata, systemIdentifier: args.systemId }, { storage });
      if (!result.found) return 1;
      await spool?.keepPrefetching(result.rawBytes, result.systemIdentifier).catch(() => {});
      return 0;
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

/**
 * Prefetch (on unless --prefetch 0 / BACKUP_WAL_PREFETCH=0; segments only): takes the segment
 * from the spool when the prefetcher has it, and afterwards keeps a prefetcher running for the
 * segments after it. Served from the spool, it loads only the spool module (Node built-ins): no
 * configuration resolver, no pipeline.
 */
async function prefetchSpool(args: WalArguments, fileName: string, destination: string, pgdata: string) {
  const depth = prefetchDepth(args);
  const spoolModule = await import('@llm-analytics/core/wal/walSpool');
  if (depth === 0 || !spoolModule.isSpoolableName(fileName)) return undefined;
  const systemIdentifier = args.systemId ?? (await spoolModule.quickSystemIdentifier(pgdata));
  if (!systemIdentifier) return undefined;
  const dir = spoolModule.spoolDirectory(spoolModule.spoolRoot(destination, args.spool), repositoryInputs(args.input), systemIdentifier);
  const previous = await spoolModule.readWanted(dir);
  // Only a segment in the prefetcher's window can be in the spool. Told first (before the entry is
  // taken), the prefetcher neither deletes it nor fetches it again, and moves on to the next ones.
  const inWindow = previous !== undefined && spoolModule.isInWindow(previous, fileName, depth);
  if (inWindow) await spoolModule.writeWanted(dir, { fileName, segmentSize: previous.segmentSize });
  const served = inWindow ? await spoolModule.takeSpooledSegment(dir, fileName, destination) : undefined;
  // After a fetch (from the spool or the repository): keep a prefetcher running past this segment.
  // A request outside the window that found nothing moves nothing (PostgreSQL probes other
  // timelines and the end of the archive).
  const keepPrefetching = async (segmentSize: number, checkedSystemIdentifier?: string) => {
    if (!spoolModule.isWalSegmentSize(segmentSize)) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (!inWindow || segmentSize !== previous?.segmentSize) await spoolModule.writeWanted(dir, { fileName, segmentSize });
    if (await spoolModule.prefetcherAlive(dir)) return;
    await startPrefetcher(args, dir, checkedSystemIdentifier ?? args.systemId ?? (await readSystemId(pgdata)), depth);
  };
  return { served, keepPrefetching };
}

/**
 * What names the repository to this process, as given (flags, environment, working directory for
 * a relative path): the spool's key without loading the configuration resolver.
 */
function repositoryInputs(input: ConfigInput): string {
  const env = process.env;
  return JSON.stringify([
    input.repo, input.s3Bucket, input.s3Prefix, input.s3Endpoint,
    env.BACKUP_REPO, env.BACKUP_S3_BUCKET, env.BACKUP_S3_PREFIX, env.AWS_ENDPOINT_URL_S3, env.AWS_ENDPOINT_URL, env.XDG_DATA_HOME, env.HOME, process.cwd(),
  ]);
}

function prefetchDepth(args: WalArguments): number {
  if (args.prefetch !== undefined) return args.prefetch;
  const text = process.env.BACKUP_WAL_PREFETCH;
  if (text === undefined || text === '') return DEFAULT_PREFETCH_DEPTH;
  const depth = Number(text);
  if (Number.isInteger(depth) && depth >= 0 && depth <= 64) return depth;
  // A wrong value must not make every fetch fail: PostgreSQL would take that as the end of WAL.
  process.stderr.write(`wal-fetch: ignoring BACKUP_WAL_PREFETCH=${JSON.stringify(text)} (a whole number from 0 to 64); prefetching ${DEFAULT_PREFETCH_DEPTH}\n`);
  return DEFAULT_PREFETCH_DEPTH;
}

/** The prefetcher: this CLI again, detached, with the same repository flags and environment. */
async function startPrefetcher(args: WalArguments, dir: string, systemIdentifier: string, depth: number): Promise<void> {
  const { spawn } = await import('node:child_process');
  const runJs = cliEntryScript();
  const argv = [runJs, 'database', 'wal-fetch', '--prefetch-worker', dir, '--prefetch', String(depth), '--system-id', systemIdentifier, ...configArguments(args.input)];
  spawn(process.execPath, argv, { detached: true, stdio: 'ignore' }).unref();
}

async function runPrefetchWorker(args: WalArguments, dir: string): Promise<number> {
  // Errors go to a file in the spool (detached, the prefetcher has no stderr); kept small.
  const logFile = join(dir, 'prefetch.log');
  const log = async (message: string) => {
    const size = await stat(logFile).then((s) => s.size, () => 0);
    await (size > 256 * 1024 ? writeFile : appendFile)(logFile, `${new Date().toISOString()} ${message}\n`).catch(() => {});
  };
  try {
    if (!args.systemId) throw usage('--prefetch-worker needs --system-id');
    const { config, storage } = await context(args);
    const { prefetchSegments } = await import('@llm-analytics/core/wal/walPrefetch');
    const summary = await prefetchSegments({ config, systemIdentifier: args.systemId, spoolDir: dir, depth: prefetchDepth(args) }, { storage, report: log });
    return summary.stoppedBecause === 'failures' ? 1 : 0;
  } catch (error) {
    await log(`prefetcher stopped: ${(error as { code?: string }).code ?? 'ERROR'}: ${(error as Error).message}`);
    return 1;
  }
}

/**
 * recovery_end_command: deletes the spool (a running prefetcher finds it gone and stops). The
 * default spool is pg_wal's (the restore's own); a --spool directory loses only this cluster's part.
 */
async function runClearSpool(args: WalArguments): Promise<number> {
  try {
    const { clearSpool, spoolDirectory, SPOOL_DIR_NAME } = await import('@llm-analytics/core/wal/walSpool');
    const pgdata = args.pgdata ?? process.cwd();
    if (!args.spool) {
      await clearSpool(join(pgdata, 'pg_wal', SPOOL_DIR_NAME));
      return 0;
    }
    const systemIdentifier = args.systemId ?? (await readSystemId(pgdata));
    await clearSpool(spoolDirectory(args.spool, repositoryInputs(args.input), systemIdentifier));
    return 0;
  } catch (error) {
    return report('wal-fetch', error);
  }
}

async function readSystemId(pgdata: string): Promise<string> {
  const { readSystemIdentifier } = await import('@llm-analytics/core/postgres/controlFile');
  return readSystemIdentifier(pgdata);
}

/** The repository and key flags given to this process, for the prefetcher it starts. */
function configArguments(input: ConfigInput): string[] {
  const argv: string[] = [];
  for (const [flag, key] of Object.entries(VALUE_FLAGS)) {
    const value = (input as Record<string, unknown>)[key];
    if (typeof value === 'string') argv.push(`--${flag}`, key === 'encryptionKeyFile' ? resolve(value) : value);
  }
  if (input.encryption !== undefined) argv.push(input.encryption ? '--encryption' : '--no-encryption');
  return argv;
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
