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
  // One command, not two: each costs a process start on the host (or an exec round trip to a pod).
  await execChecked(host, ['sh', '-c', 'mkdir -p -- "$1" && chmod 700 -- "$1"', 'sh', dir]);
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

/**
 * Replaces a small file's contents atomically: a copy keeping its owner and mode (`cp -p`, so a
 * root-run host leaves the file to the server's user) is rewritten, then renamed over it.
 */
export async function replaceFileContents(host: Host, path: string, text: string): Promise<void> {
  const script = 'cp -p -- "$1" "$1.llm-analytics-tmp" && cat > "$1.llm-analytics-tmp" && mv -f -- "$1.llm-analytics-tmp" "$1"';
  await execChecked(host, ['sh', '-c', script, 'sh', path], { stdin: Readable.from([Buffer.from(text)]) });
}
