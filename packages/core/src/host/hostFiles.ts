import { Readable } from 'node:stream';
import { BackupError } from '../errors.js';
import type { ExecResult, Host } from './host.js';

/**
 * Small file operations on a Host, done with the host's own commands so they work the same on
 * this machine and inside a pod. Paths are passed as arguments, never spliced into a shell line.
 */

export type DirectoryState = 'missing' | 'empty' | 'not-empty';

export async function directoryState(host: Host, dir: string): Promise<DirectoryState> {
  const result = await host.exec(['sh', '-c', 'if [ ! -e "$1" ]; then echo missing; elif [ -z "$(ls -A -- "$1")" ]; then echo empty; else echo not-empty; fi', 'sh', dir]);
  expectSuccess(result, `inspect ${dir}`);
  return result.stdout.trim() as DirectoryState;
}

export async function makePrivateDirectory(host: Host, dir: string): Promise<void> {
  expectSuccess(await host.exec(['mkdir', '-p', '--', dir]), `create ${dir}`);
  expectSuccess(await host.exec(['chmod', '700', '--', dir]), `set permissions of ${dir}`);
}

export async function moveAside(host: Host, from: string, to: string): Promise<void> {
  expectSuccess(await host.exec(['mv', '--', from, to]), `move ${from} to ${to}`);
}

export async function removeTree(host: Host, dir: string): Promise<void> {
  expectSuccess(await host.exec(['rm', '-rf', '--', dir]), `remove ${dir}`);
}

export async function emptyDirectory(host: Host, dir: string): Promise<void> {
  expectSuccess(await host.exec(['find', dir, '-mindepth', '1', '-delete']), `empty ${dir}`);
}

export async function appendToFile(host: Host, path: string, text: string): Promise<void> {
  expectSuccess(await host.exec(['sh', '-c', 'cat >> "$1"', 'sh', path], { stdin: Readable.from([Buffer.from(text)]) }), `write ${path}`);
}

export async function fileExists(host: Host, path: string): Promise<boolean> {
  return (await host.exec(['test', '-e', path])).exitCode === 0;
}

export async function readTextFile(host: Host, path: string): Promise<string> {
  const result = await host.exec(['cat', '--', path]);
  expectSuccess(result, `read ${path}`);
  return result.stdout;
}

export function expectSuccess(result: ExecResult, what: string): void {
  if (result.exitCode !== 0) {
    throw new BackupError('HOST_COMMAND_FAILED', `Could not ${what}: ${result.stderr.trim() || `exit code ${result.exitCode}`}.`, 'Check the path and that the database OS user may write there.');
  }
}
