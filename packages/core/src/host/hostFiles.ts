import { Readable } from 'node:stream';
import { execChecked } from './execChecked.js';
import type { Host } from './host.js';

/**
 * Small file operations on a Host, done with the host's own commands so they work the same on
 * this machine and inside a pod. Paths are passed as arguments, never spliced into a shell line.
 */

export type DirectoryState = 'missing' | 'empty' | 'not-empty';

export async function directoryState(host: Host, dir: string): Promise<DirectoryState> {
  const script = 'if [ ! -e "$1" ]; then echo missing; elif [ -z "$(ls -A -- "$1")" ]; then echo empty; else echo not-empty; fi';
  const result = await execChecked(host, ['sh', '-c', script, 'sh', dir]);
  return result.stdout.trim() as DirectoryState;
}

export async function makePrivateDirectory(host: Host, dir: string): Promise<void> {
  await execChecked(host, ['mkdir', '-p', '--', dir]);
  await execChecked(host, ['chmod', '700', '--', dir]);
}

export async function moveAside(host: Host, from: string, to: string): Promise<void> {
  await execChecked(host, ['mv', '--', from, to]);
}

export async function removeTree(host: Host, dir: string): Promise<void> {
  await execChecked(host, ['rm', '-rf', '--', dir]);
}

export async function emptyDirectory(host: Host, dir: string): Promise<void> {
  await execChecked(host, ['find', dir, '-mindepth', '1', '-delete']);
}

export async function appendToFile(host: Host, path: string, text: string): Promise<void> {
  await execChecked(host, ['sh', '-c', 'cat >> "$1"', 'sh', path], { stdin: Readable.from([Buffer.from(text)]) });
}

export async function readTextFile(host: Host, path: string): Promise<string> {
  return (await execChecked(host, ['cat', '--', path])).stdout;
}
