import { chmodSync, chownSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { BackupError } from '../errors.js';
import { asDecodeError } from '../pipeline/pipelineErrors.js';
import { TAR_PARSER_SOURCE, type TarPosition } from '../tar/tarParser.js';
import { WORKER_FILE_HELPERS_SOURCE, extractError, guarded, permissions, type FileOwner } from './extractHelpers.js';

/**
 * Extracts a backup whose frame index says where each frame starts in its tar (TarPosition):
 * every frame is decoded and written by one thread on its own, in 256 KiB pieces, while the other
 * thread does the next frame. The main thread only reads, authenticates and cuts the object.
 *
 * Why: decoded whole, a frame (8 MiB) has left the core's cache by the time its bytes are copied
 * into files; the kernel's copy then cost ~1 CPU-s per 780 MB (~0.1 s from a piece that was just
 * decoded, as `zstd -d | tar -x` does). tarExtractor.ts stays for backups without the index.
 */
export interface FrameExtractor {
  /**
   * Hands over stored frame `index` (whole, decrypted; zstd), as the pieces it came in: they are
   * copied to the thread at once. Resolves when there is room for the next; rejects with the
   * first failure of any frame so far.
   */
  extract(frame: readonly Buffer[], index: number): Promise<void>;
  /**
   * After the last frame: waits for every frame, checks that they join up into one archive, then
   * gives directories their modes, owner and times, and files written by two threads theirs.
   */
  finish(): Promise<{ entries: number; rawBytes: number }>;
  /** Stops the threads (after a failure: at once, whatever they were writing). */
  close(): Promise<void>;
}

export interface FrameExtractorOptions {
  /** Where each frame starts in the tar (the backup's frame index), one per stored frame. */
  starts: readonly TarPosition[];
  /** Each frame's raw length (the frame index): what its decoding must produce. */
  rawLengths: readonly number[];
  owner?: FileOwner;
  /** Raw bytes extracted so far. */
  onProgress?: (rawBytes: number) => void;
}

/** Decoded and written in pieces this large: they stay in the core's cache between the two. */
const PIECE_BYTES = 256 * 1024;
const THREADS = 2;
/** Frames handed to a thread ahead of the one it works on, so it never waits for the next. */
const QUEUED_PER_THREAD = 2;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { dirname, join } = require('node:path');
const zstd = require(workerData.zstdBindingPath);
${WORKER_FILE_HELPERS_SOURCE}
${TAR_PARSER_SOURCE}
let targetDir;
let owner;
const OPEN_FOR_WRITE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW;
/** Where each piece is decoded to, and written from while it is still in the core's cache. */
const output = Buffer.allocUnsafeSlow(workerData.pieceBytes);
const dctx = new zstd.DCtx();
let failed = false;

const where = (path) => (path === '' ? targetDir : join(targetDir, path));

/** Decodes one frame (the pieces it came in) into the tar parser; returns how many raw bytes it held. */
function decode(pieces, parser) {
  let produced = 0;
  let remaining = 1;
  for (let index = 0; index < pieces.length; index++) {
    let rest = Buffer.from(pieces[index].buffer, pieces[index].byteOffset, pieces[index].byteLength);
    const last = index === pieces.length - 1;
    for (;;) {
      if (remaining === 0) throw Object.assign(new Error('bytes follow the frame'), { decode: true });
      let step;
      try {
        step = dctx.decompressStream(output, rest);
      } catch (error) {
        throw Object.assign(new Error(String(error.message || error)), { decode: true });
      }
      const [hint, bytes, consumed] = step;
      remaining = hint;
      produced += bytes;
      rest = rest.subarray(consumed);
      if (bytes > 0) parser.walk(output.subarray(0, bytes));
      // 0: the frame is decoded, its checksum checked, and all of it flushed.
      if (remaining === 0 && rest.length === 0) break;
      if (rest.length === 0 && bytes < output.length) break; // this input piece is used up: the next one
    }
    if (last && remaining !== 0) throw Object.assign(new Error('the frame is truncated'), { decode: true });
  }
  return produced;
}

/**
 * Writes the members of one frame. A file met here from its header on is created (and sized, so
 * a stale longer file cannot keep a tail) and, if it ends here too, given its time; a file this
 * frame holds only part of is reported, and the main thread sets its time once every part is in.
 */
function extractFrame({ pieces, start, rawLength }) {
  const directories = [];
  const shared = [];
  let file;
  const openFile = (entry, offset) => {
    const fd = openMemberFile(where(entry.path), OPEN_FOR_WRITE, permissions(entry.mode, 0o600), owner);
    file = { fd, entry, position: offset, whole: offset === 0 };
    if (offset === 0) fs.ftruncateSync(fd, entry.size);
  };
  const closeFile = (ended) => {
    const { fd, entry, whole } = file;
    file = undefined;
    try {
      if (ended && whole) fs.futimesSync(fd, entry.mtime, entry.mtime);
      else shared.push({ path: where(entry.path), mtime: entry.mtime });
    } finally {
      fs.closeSync(fd);
    }
  };
  const parser = new TarParser({
    onEntry(entry) {
      const path = where(entry.path);
      if (entry.type === 'directory') {
        fs.mkdirSync(path, { recursive: true, mode: 0o700 });
        directories.push({ path, mode: entry.mode, mtime: entry.mtime });
      } else if (entry.type === 'file') {
        openFile(entry, 0);
      } else if (entry.type === 'symlink') {
        makeMemberSymlink(path, entry.linkTarget, owner);
      } else {
        // A backup with hard links gets no tar positions (TarWalker.framePositions).
        throw new Error('a hard link, which an indexed backup cannot hold');
      }
    },
    onResume: (entry, offset) => openFile(entry, offset),
    onFileData(entry, bytes) {
      for (let at = 0; at < bytes.length; ) {
        const written = fs.writeSync(file.fd, bytes, at, bytes.length - at, file.position);
        at += written;
        file.position += written;
      }
    },
    onFileEnd: () => closeFile(true),
  }, start);
  try {
    const produced = decode(pieces, parser);
    if (produced !== rawLength) throw Object.assign(new Error('it holds ' + produced + ' bytes, its index says ' + rawLength), { decode: true });
  } catch (error) {
    if (file) fs.closeSync(file.fd);
    error.path ??= file ? where(file.entry.path) : targetDir;
    throw error;
  }
  if (file) closeFile(false);
  return { end: parser.position(), entries: parser.entryCount, directories, shared };
}

parentPort.on('message', (message) => {
  if (message.target) return ({ targetDir, owner } = message.target);
  if (failed) return parentPort.postMessage({ index: message.index });
  try {
    parentPort.postMessage({ index: message.index, done: extractFrame(message) });
  } catch (error) {
    failed = true;
    parentPort.postMessage({
      index: message.index,
      failed: {
        path: error.path ?? targetDir,
        reason: error.code ?? String(error.message || error),
        decode: error.decode === true,
        tar: error.tarProblem ? { message: error.message, hint: error.hint } : undefined,
      },
    });
  }
});
`;

interface FrameDone {
  end: TarPosition;
  entries: number;
  directories: { path: string; mode: number; mtime: number }[];
  /** Files this frame holds part of: their time is set at the end. */
  shared: { path: string; mtime: number }[];
}

interface WorkerReply {
  index: number;
  /** Neither done nor failed: skipped after an earlier failure. */
  done?: FrameDone;
  failed?: { path: string; reason: string; decode: boolean; tar?: { message: string; hint: string } };
}

interface ExtractThread {
  worker: Worker;
  /** Frames handed to it and not answered yet. */
  queued: number;
}

/** Threads started ahead of a restore (prestartFrameExtractor), idle until taken. */
const prestarted: Worker[] = [];

function startThread(): Worker {
  const zstdBindingPath = createRequire(import.meta.url).resolve('zstd-napi/binding.js');
  return new Worker(WORKER_SOURCE, { eval: true, workerData: { zstdBindingPath, pieceBytes: PIECE_BYTES } });
}

const IDLE_SHUTDOWN_MS = 30_000;
let idleTimer: NodeJS.Timeout | undefined;

/**
 * Starts the extracting threads now, idle: a thread takes ~60 ms to boot (V8, the native codec),
 * which the first frame would otherwise wait for. They do not keep the process alive, and stop
 * if no restore takes them within 30 s (a long-running API server).
 */
export function prestartFrameExtractor(): void {
  while (prestarted.length < THREADS) {
    const worker = startThread();
    worker.unref();
    prestarted.push(worker);
  }
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => void Promise.all(prestarted.splice(0).map((worker) => worker.terminate())), IDLE_SHUTDOWN_MS);
  idleTimer.unref();
}

function takeThread(): Worker {
  let worker = prestarted.shift();
  // One that failed while idle has exited: its threadId is then -1.
  while (worker && worker.threadId === -1) worker = prestarted.shift();
  worker ??= startThread();
  worker.ref();
  return worker;
}

export function createFrameExtractor(targetDir: string, options: FrameExtractorOptions): FrameExtractor {
  const { starts, rawLengths, owner } = options;
  const done = new Map<number, FrameDone>();
  let failure: BackupError | undefined;
  let submitted = 0;
  let rawBytes = 0;
  let stopped = false;
  /** Wakes whoever waits for room in a thread or for the last frame. */
  let wake: (() => void) | undefined;
  const notify = () => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };

  const fail = (error: BackupError) => {
    failure ??= error;
    notify();
  };
  const threads: ExtractThread[] = Array.from({ length: THREADS }, () => {
    const worker = takeThread();
    worker.postMessage({ target: { targetDir, owner } });
    const thread: ExtractThread = { worker, queued: 0 };
    worker.on('message', (reply: WorkerReply) => {
      thread.queued -= 1;
      if (reply.failed) fail(frameError(reply.index, reply.failed));
      if (reply.done) {
        done.set(reply.index, reply.done);
        rawBytes += rawLengths[reply.index] as number;
        options.onProgress?.(rawBytes);
      }
      notify();
    });
    worker.on('error', (error) => fail(extractError(targetDir, error.message)));
    worker.on('exit', () => {
      if (!stopped) fail(extractError(targetDir, 'a frame extracting thread exited'));
    });
    return thread;
  });

  /** The thread with the fewest frames queued, if one has room for another. */
  const leastBusy = (): ExtractThread | undefined =>
    threads.reduce<ExtractThread | undefined>((best, thread) => (thread.queued < QUEUED_PER_THREAD && (!best || thread.queued < best.queued) ? thread : best), undefined);
  const until = async (ready: () => boolean) => {
    while (!ready() && !failure) await new Promise<void>((resolve) => (wake = resolve));
    if (failure) throw failure;
  };

  return {
    async extract(frame, index) {
      if (index !== submitted || index >= starts.length) {
        throw new BackupError('DATA_CORRUPT', `The backup object holds more frames than its index lists (${starts.length}).`, 'The backup metadata does not match its data: use another backup.');
      }
      await until(() => leastBusy() !== undefined);
      const thread = leastBusy() as ExtractThread;
      thread.queued += 1;
      submitted += 1;
      // Copied by the structured clone (a plain memcpy): copying into a SharedArrayBuffer instead
      // went through V8's byte-wise relaxed copy, 0.2 CPU-s per 160 MB on the main thread.
      thread.worker.postMessage({ index, pieces: frame, start: starts[index], rawLength: rawLengths[index] });
    },

    async finish() {
      if (submitted !== starts.length) {
        throw new BackupError('DATA_CORRUPT', `The backup object holds ${submitted} frames, its index lists ${starts.length}.`, 'The backup metadata does not match its data: use another backup.');
      }
      await until(() => done.size === submitted);
      const frames = starts.map((_, index) => done.get(index) as FrameDone);
      frames.forEach((frame, index) => {
        // Each frame must end where the next was recorded to start, the last after its last member.
        const next = starts[index + 1];
        if (next && !samePosition(frame.end, next)) {
          throw new BackupError('DATA_CORRUPT', `Frame ${index} of the backup ends at another place in the archive than its index says frame ${index + 1} starts.`, 'The backup metadata does not match its data: use another backup.');
        }
        if (!next && frame.end.at !== 'end' && frame.end.at !== 'header') {
          throw new BackupError('DATA_CORRUPT', 'The backup archive ends in the middle of a tar member.', 'The stored backup is truncated; use another backup.');
        }
      });
      for (const { path, mtime } of frames.flatMap((frame) => frame.shared)) guarded(path, () => utimesSync(path, mtime, mtime));
      // Last: creating the members inside changed the directories' times.
      for (const { path, mode, mtime } of frames.flatMap((frame) => frame.directories)) {
        guarded(path, () => {
          chmodSync(path, permissions(mode, 0o700));
          if (owner) chownSync(path, owner.uid, owner.gid);
          utimesSync(path, mtime, mtime);
        });
      }
      return { entries: frames.reduce((sum, frame) => sum + frame.entries, 0), rawBytes };
    },

    async close() {
      stopped = true;
      await Promise.all(threads.map(({ worker }) => worker.terminate()));
    },
  };
}

function samePosition(a: TarPosition, b: TarPosition): boolean {
  return JSON.stringify(a, Object.keys(a).sort()) === JSON.stringify(b, Object.keys(b).sort());
}

function frameError(index: number, failed: NonNullable<WorkerReply['failed']>): BackupError {
  if (failed.tar) return new BackupError('DATA_CORRUPT', failed.tar.message, failed.tar.hint);
  if (failed.decode) return asDecodeError(new Error(`frame ${index}: ${failed.reason}`), 'as zstd');
  return extractError(failed.path, failed.reason);
}
