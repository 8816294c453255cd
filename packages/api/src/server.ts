import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { BackupError, LocalHost, openStorage, resolveConfig, type ConfigInput, type ResolvedConfig } from '@llm-analytics/core';
import { createApp, type BuiltApp } from './app.js';
import { loadTokens } from './auth.js';
import type { Engines } from './types.js';

export interface ServerOptions {
  /** Default 127.0.0.1. A non-loopback address needs at least one token. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** The same repository/database/connection options as every command. */
  config?: ConfigInput;
  env?: Record<string, string | undefined>;
  tokenFile?: string;
  /** How long a shutdown lets running jobs finish before cancelling them. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** Handle SIGTERM/SIGINT (default true). */
  handleSignals?: boolean;
  engines?: Partial<Engines>;
  /** The wal-fetch argv for restore_command (PITR), from the resolved configuration. */
  walFetchCommand?: (config: ResolvedConfig) => readonly string[] | undefined;
  log?: (line: string) => void;
}

export interface RunningServer extends BuiltApp {
  url: string;
  port: number;
  /** Stop accepting, let jobs finish up to the timeout, cancel the rest, close. */
  shutdown(reason?: string): Promise<void>;
  /** Resolves once shutdown has finished. */
  closed: Promise<void>;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '::ffff:127.0.0.1';
}

export async function runServer(options: ServerOptions = {}): Promise<RunningServer> {
  const env = options.env ?? process.env;
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const tokens = loadTokens(env, options.tokenFile);
  if (tokens.size === 0 && !isLoopback(host)) {
    throw new BackupError('INVALID_ARGUMENT', `Refusing to listen on ${host} without authentication.`, 'Set BACKUP_API_TOKENS ("token:operate,token:read") or --token-file, or listen on 127.0.0.1.');
  }
  const config = resolveConfig(options.config ?? {}, env);
  const storage = openStorage(config.repository);
  const localHost = new LocalHost({ pgBinDir: config.pgBinDir });
  const built = createApp({ config, storage, host: localHost, tokens, engines: options.engines, walFetchCommand: options.walFetchCommand?.(config), log });

  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: built.app.fetch, hostname: host, port }, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  log(JSON.stringify({ time: new Date().toISOString(), level: 'info', message: 'listening', url, repository: storage.location, auth: tokens.size > 0 ? 'bearer' : 'none (loopback only)' }));

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown') => {
    shuttingDown ??= (async () => {
      const timeoutMs = options.shutdownTimeoutMs ?? 30_000;
      const active = built.jobs.activeJobs().length;
      log(JSON.stringify({ time: new Date().toISOString(), level: 'info', message: 'shutting down', reason, activeJobs: active, timeoutMs }));
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      if (!(await built.jobs.waitForActive(timeoutMs))) {
        log(JSON.stringify({ time: new Date().toISOString(), level: 'warn', message: 'cancelling jobs still running after the shutdown timeout', jobs: built.jobs.activeJobs().map((job) => job.id) }));
        built.jobs.cancelAll();
        await built.jobs.waitForActive(60_000);
      }
      // SSE streams end with their jobs: let them write their last event and end on their own
      // (server.close() waits for that); only a client that hangs on is cut after a grace time.
      await built.jobs.waitForStreams(5000);
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([stopped, new Promise((resolve) => (grace = setTimeout(resolve, 1000)))]);
      clearTimeout(grace);
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await stopped;
      resolveClosed();
    })();
    return shuttingDown;
  };

  if (options.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals) => void shutdown(signal);
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    void closed.then(() => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    });
  }
  return { ...built, url, port: address.port, shutdown, closed };
}
