import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every PostgreSQL server the test harness started in this process, so that none outlives it:
 * afterAll hooks stop them normally; if a test file dies first, the exit and signal handlers
 * stop them (pg_ctl -m immediate) synchronously. pg_ctl puts the postmaster in its own session,
 * so nothing else would stop it.
 */
export interface TrackedServer {
  pgdata: string;
  /** pg_ctl to stop it with. */
  pgCtl: string;
  /** Run pg_ctl as this uid/gid (the data directory's owner) when set. */
  uid?: number;
  gid?: number;
  /** A temporary directory to delete after stopping, when the harness created it. */
  removeDir?: string;
}

const servers = new Map<string, TrackedServer>();
let handlersInstalled = false;

export function trackServer(server: TrackedServer): void {
  servers.set(server.pgdata, server);
  installHandlers();
}

export function untrackServer(pgdata: string): void {
  servers.delete(pgdata);
}

export function trackedServers(): TrackedServer[] {
  return [...servers.values()];
}

/** Stops (immediate mode) and removes everything still tracked; safe inside an exit handler. */
export function stopAllTrackedSync(): void {
  for (const server of servers.values()) {
    if (existsSync(join(server.pgdata, 'postmaster.pid'))) {
      spawnSync(server.pgCtl, ['-D', server.pgdata, '-m', 'immediate', '-w', '-t', '30', 'stop'], {
        stdio: 'ignore',
        uid: server.uid,
        gid: server.gid,
        cwd: '/',
        timeout: 40_000,
      });
    }
    if (server.removeDir) rmSync(server.removeDir, { recursive: true, force: true });
  }
  servers.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', stopAllTrackedSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      stopAllTrackedSync();
      process.removeListener(signal, onSignal);
      // Leave the signal's own effect (ending the process) to whoever else listens, or to Node.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
