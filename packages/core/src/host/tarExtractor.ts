import { chmodSync, chownSync, mkdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { KeepFrame } from '../pipeline/streamDecoders.js';
import { WORKER_FEED_SOURCE, WorkerFeed } from '../pipeline/workerFeed.js';
import type { TarEntry, TarWalkerOptions } from '../tar/tarWalker.js';
import { WORKER_FILE_HELPERS_SOURCE, extractError, guarded, permissions, type FileOwner } from './extractHelpers.js';

export type { FileOwner } from './extractHelpers.js';

/** Writes the members of a tar stream into a directory, fed by a TarWalker's callbacks. */
export interface TarExtractor {
  readonly callbacks: Required<Pick<TarWalkerOptions, 'onEntry' | 'onFileData' | 'onFileEnd'>>;
  /**
   * Around each decoded piece the walker walks: given `keep`, file bytes in a codec worker's
   * memory are written from where they lie (the frame is kept until then), not copied.
   */
  beginFrame(raw: Buffer, keep?: KeepFrame): void;
  endFrame(): void;
  /** After the last member: waits until every file is written, gives directories their times. */
  finish(): Promise<void>;
  /** Stops the writer, closing the file being written if a failure stopped the stream in one. */
  close(): Promise<void>;
}

/**
 * A file writer thread: creates, writes and closes the files (and links) it is handed, in order.
 * The main thread (which also reads, authenticates and walks the tar) only says what to do.
 * Creating ~1,300 files (ext4 inode allocation) and copying 780 MB into the page cache took 2 of
 * the 3 s the main thread spent on a restore, the thread that limited it; moved to one writer,
 * that writer limited it just the same, hence several (see WRITER_THREADS).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { dirname } = require('node:path');
${WORKER_FEED_SOURCE}
${WORKER_FILE_HELPERS_SOURCE}
const owner = workerData.owner;
const OPEN_FOR_WRITE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW;
let open;
let failed = false;

/** Runs one step unless an earlier one failed; the first failure is reported, the rest skipped. */
function guarded(path, work) {
  if (failed) return;
  try {
    work();
  } catch (error) {
    failed = true;
    parentPort.postMessage({ failed: { path, reason: error.code ?? error.message } });
  }
}

const write = (bytes) => guarded(open.path, () => {
  for (let at = 0; at < bytes.length; ) at += fs.writeSync(open.fd, bytes, at);
});

function closeOpenFile(mtime) {
  const file = open;
  open = undefined;
  if (!file) return;
  guarded(file.path, () => {
    if (mtime !== undefined) fs.futimesSync(file.fd, mtime, mtime);
  });
  try {
    fs.closeSync(file.fd);
  } catch (error) {
    guarded(file.path, () => { throw error; });
  }
}

parentPort.on('message', (message) => {
  if (feedControl(message)) return;
  const { path } = message;
  switch (message.op) {
    case 'file':
      return guarded(path, () => {
        open = { fd: openMemberFile(path, OPEN_FOR_WRITE, message.mode, owner), path };
      });
    case 'bytes':
      if (open && !failed) feedBytes(message, write);
      else feedBytes(message, () => {});
      return;
    case 'fileEnd':
      return closeOpenFile(message.mtime);
    case 'symlink':
      return guarded(path, () => makeMemberSymlink(path, message.target, owner));
    case 'hardlink':
      return guarded(path, () => replacing(path, () => fs.linkSync(message.target, path)));
    case 'finish':
      return parentPort.postMessage({ answered: 'finish' });
    case 'close':
      closeOpenFile(undefined);
      return parentPort.postMessage({ answered: 'close' });
  }
});
`;

/** Writer threads: on 2 cores, two halve the file system's share of a restore's critical path. */
const WRITER_THREADS = 2;
/** A file's creation costs about as much as writing this many bytes (ext4 inode allocation). */
const FILE_CREATION_COST_BYTES = 256 * 1024;

/**
 * `tar -x` done by this process, for a local restore: the raw tar no longer has to be copied
 * through a socket into a tar process (on 2 cores that hand-over, not decoding or writing, was
 * what limited a restore). The TarWalker in front has already refused every member that could
 * land outside the directory (absolute paths, `..`, links pointing out, devices); files are
 * opened with O_NOFOLLOW so an existing symlink is replaced, never written through. Like tar
 * run by the account that owns the data: permission bits and file times from the archive, owner
 * `owner` (when root extracts for the postgres account), no setuid/setgid bits.
 *
 * Directories are made here, before any member inside them is handed on. Files, symlinks and
 * hard links go to the writer with the least work assigned so far, in archive order per writer;
 * a path met twice goes to the writer that had it (the later member replaces the earlier, as with
 * tar), a hard link to the writer of its target (written by then). A writer's failure (no space,
 * permissions) is reported by the next callback, or by finish().
 */
export function createTarExtractor(targetDir: string, owner?: FileOwner): TarExtractor {
  const feed = new WorkerFeed('file writer');
  let stopped = false;
  /** Each writer thread, whether it has exited, and who waits for its answer to finish/close. */
  const writers = Array.from({ length: WRITER_THREADS }, (_, lane) => {
    const writer: { worker: Worker; exited: boolean; answered?: () => void } = {
      worker: feed.addWorker((memory) => new Worker(WORKER_SOURCE, { eval: true, workerData: { feed: memory, owner } })),
      exited: false,
    };
    writer.worker.on('message', (message: { failed?: { path: string; reason: string }; answered?: string }) => {
      if (message.failed) feed.fail(extractError(message.failed.path, message.failed.reason));
      if (message.answered) writer.answered?.();
    });
    writer.worker.on('error', (error) => feed.fail(extractError(targetDir, error.message)));
    writer.worker.on('exit', () => {
      writer.exited = true;
      if (!stopped) feed.fail(extractError(targetDir, `file writer thread ${lane + 1} exited`));
      writer.answered?.();
    });
    return writer;
  });
  /** Work assigned to each writer so far (bytes, and a creation cost per member). */
  const assigned = writers.map(() => 0);
  /** The writer of every path handed on, so that a later member with the same path follows it. */
  const writerOf = new Map<string, number>();
  const directoryTimes: { path: string; mtime: number }[] = [];
  /** The writer of the file being written. */
  let current = 0;

  const leastBusy = () => assigned.indexOf(Math.min(...assigned));
  const handOn = (path: string, message: object, lane: number, bytes = 0) => {
    if (feed.failure) throw feed.failure;
    writerOf.set(path, lane);
    assigned[lane] = (assigned[lane] as number) + bytes + FILE_CREATION_COST_BYTES;
    feed.post({ ...message, path }, lane);
    return lane;
  };
  /** Every writer has done what it was handed before this (a writer that exited has nothing to do). */
  const askWriters = (op: 'finish' | 'close') =>
    Promise.all(
      writers.map(
        (writer, lane) =>
          new Promise<void>((resolve) => {
            if (writer.exited) return resolve();
            writer.answered = resolve;
            feed.post({ op }, lane);
          }),
      ),
    );
  const where = (entry: TarEntry) => (entry.path === '' ? targetDir : join(targetDir, entry.path));

  const onEntry = (entry: TarEntry): void => {
    const path = where(entry);
    switch (entry.type) {
      case 'directory':
        if (feed.failure) throw feed.failure;
        guarded(path, () => {
          mkdirSync(path, { recursive: true });
          chmodSync(path, permissions(entry.mode, 0o700));
          if (owner) chownSync(path, owner.uid, owner.gid);
        });
        directoryTimes.push({ path, mtime: entry.mtime });
        return;
      case 'file':
        current = handOn(path, { op: 'file', mode: permissions(entry.mode, 0o600) }, writerOf.get(path) ?? leastBusy(), entry.size);
        return;
      case 'symlink':
        handOn(path, { op: 'symlink', target: entry.linkTarget }, writerOf.get(path) ?? leastBusy());
        return;
      case 'hardlink': {
        const target = join(targetDir, entry.linkTarget as string);
        handOn(path, { op: 'hardlink', target }, writerOf.get(target) ?? writerOf.get(path) ?? leastBusy());
        return;
      }
      default:
        // The walker refuses every other type before it gets here.
        throw new Error(`unsupported member type ${entry.type}`);
    }
  };

  return {
    callbacks: {
      onEntry,
      onFileData: (_entry, bytes) => {
        if (feed.failure) throw feed.failure;
        feed.send('bytes', bytes, current);
      },
      onFileEnd: (entry) => {
        if (feed.failure) throw feed.failure;
        feed.post({ op: 'fileEnd', mtime: entry.mtime }, current);
      },
    },
    beginFrame: (raw, keep) => feed.beginFrame(raw, keep),
    endFrame: () => feed.endFrame(),
    finish: async () => {
      if (!stopped) await askWriters('finish');
      if (feed.failure) throw feed.failure;
      // Last: creating the members inside changed the directories' times.
      for (const { path, mtime } of directoryTimes) guarded(path, () => utimesSync(path, mtime, mtime));
    },
    close: async () => {
      if (stopped) return;
      await askWriters('close');
      stopped = true;
      feed.releaseAllKept();
      await Promise.all(writers.map((writer) => writer.worker.terminate()));
    },
  };
}
