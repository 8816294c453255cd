import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type OnReadOpts, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackupError } from '../errors.js';

/**
 * Two connected Unix stream sockets: `writing` to give a command as its stdout, `reading` read by
 * this process with net's `onread` (straight into memory the caller hands out; a child's stdout
 * pipe cannot be read that way). The listening socket lives for a moment in a fresh directory
 * only this user can enter, so nobody else can connect in its place; it is gone on return.
 */
export async function connectedSocketPair(onread: OnReadOpts): Promise<{ reading: Socket; writing: Socket }> {
  let directory: string;
  try {
    directory = await mkdtemp(join(tmpdir(), 'llm-analytics-socket-'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new BackupError('HOST_COMMAND_FAILED', `Could not create a socket for a command's output in ${tmpdir()}: ${reason}.`, 'Point TMPDIR at a writable directory.', { cause: error });
  }
  const server = createServer({ pauseOnConnect: true });
  try {
    const path = join(directory, 's');
    server.listen(path);
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const reading = connect({ path, onread });
    const [[writing]] = await Promise.all([accepted, once(reading, 'connect')]);
    return { reading, writing };
  } finally {
    server.close();
    await rm(directory, { recursive: true, force: true });
  }
}
