import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { lookupOsUser, runsAsRoot } from '../../../core/src/host/osUser.js';

export const CLI = resolve(import.meta.dirname, '../../../../bin/llm-analytics');

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json: any;
}

/**
 * Runs the built CLI as a user runs it: a separate process, its own environment (only what the
 * test gives plus PATH/HOME), stdin closed (not a terminal).
 */
export function runCli(args: readonly string[], env: Record<string, string | undefined> = {}, options: { cwd?: string } = {}): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(CLI, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolvePromise({ exitCode: code ?? -1, stdout, stderr, json });
    });
  });
}

/** A fresh directory a restore may create its data directory in (owned by postgres as root). */
export async function scratchDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  if (runsAsRoot()) {
    const owner = lookupOsUser('postgres');
    await chown(path, owner.uid, owner.gid);
  }
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A TCP port nobody listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}
