import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Compression } from '../types/metadata.js';
import { LZ4_FRAME_OPTIONS, ZSTD_FRAME_PARAMETERS } from './codecs.js';

/**
 * Worker threads that compress frames, so compression runs beside the main thread (which reads
 * the producer, hashes, encrypts and uploads) and frames compress in parallel.
 *
 * The worker is evaluated from source rather than loaded from a file: the same code then runs
 * from TypeScript sources under vitest and from the compiled package. It loads the native codecs
 * by the absolute paths resolved here, so it does not depend on the process's working directory.
 *
 * Memory: a frame's buffer is transferred (not copied) to the worker, which compresses into its
 * own reused scratch buffer and writes the result back over the raw bytes, then transfers the
 * buffer back. Frame buffers are sized with room for the worst-case expansion (frameCapacity),
 * so a worker allocates nothing per frame. The first version returned a fresh buffer per frame:
 * memory allocated on a worker and dropped on the main thread piled up to ~50 MB of RSS per
 * worker before either side reclaimed it.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const zlib = require('node:zlib');
const zstd = require(workerData.zstdBindingPath);
const lz4 = require(workerData.lz4Path);
const contexts = new Map();
let scratch = Buffer.alloc(0);
function zstdCompress(level, raw) {
  let cctx = contexts.get(level);
  if (!cctx) {
    cctx = new zstd.CCtx();
    for (const [name, value] of Object.entries(workerData.zstdParameters)) cctx.setParameter(zstd.CParameter[name], Number(value));
    cctx.setParameter(zstd.CParameter.compressionLevel, level);
    contexts.set(level, cctx);
  }
  const bound = zstd.compressBound(raw.length);
  if (scratch.length < bound) scratch = Buffer.allocUnsafeSlow(bound);
  return scratch.subarray(0, cctx.compress2(scratch, raw));
}
function encode(compression, level, raw) {
  switch (compression) {
    case 'zstd': return zstdCompress(level, raw);
    case 'gzip': return zlib.gzipSync(raw, { level });
    case 'lz4': return lz4.compressFrameSync(raw, workerData.lz4Options);
    case 'none': return raw;
  }
  throw new Error('unknown compression ' + compression);
}
parentPort.on('message', ({ id, compression, level, memory, length }) => {
  const reply = { id, memory };
  try {
    const whole = Buffer.from(memory);
    const stored = encode(compression, level, whole.subarray(0, length));
    if (stored.length > whole.length) throw new Error('compressed frame larger than its buffer');
    if (stored.buffer !== memory) stored.copy(whole);
    reply.storedLength = stored.length;
  } catch (error) {
    reply.error = String((error && error.message) || error);
  }
  parentPort.postMessage(reply, [memory]);
});
`;

interface Task {
  compression: Compression;
  level: number;
  frame: Buffer;
  resolve: (result: EncodedFrame) => void;
  reject: (error: Error) => void;
}

interface WorkerReply {
  id: number;
  memory: ArrayBuffer;
  storedLength?: number;
  error?: string;
}

export interface EncodedFrame {
  stored: Buffer;
  /** The frame's memory, handed back for reuse. `stored` may be a view into it: copy first. */
  memory: ArrayBuffer;
}

interface PoolWorker {
  worker: Worker;
  task?: Task;
}

const IDLE_SHUTDOWN_MS = 30_000;

/** Room for a frame and for its compressed form: zstd, gzip, LZ4 expand by < 1/128 + a constant. */
export function frameCapacity(frameSize: number): number {
  return frameSize + Math.ceil(frameSize / 128) + 64 * 1024;
}

export class CompressionPool {
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly modules: { zstdBindingPath: string; lz4Path: string };

  constructor(readonly size: number) {
    const require = createRequire(import.meta.url);
    this.modules = { zstdBindingPath: require.resolve('zstd-napi/binding.js'), lz4Path: require.resolve('lz4-napi') };
  }

  /**
   * Compresses one frame on a worker. `frame` must start at offset 0 of an ArrayBuffer of at
   * least frameCapacity(frame.length) bytes that nothing else uses: it is detached while the
   * worker has it, and comes back holding the compressed frame.
   */
  encode(compression: Compression, level: number, frame: Buffer): Promise<EncodedFrame> {
    if (frame.byteOffset !== 0 || frame.buffer.byteLength < frameCapacity(frame.length)) {
      return Promise.reject(new Error('a pooled frame needs a buffer of its own with room for expansion'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ compression, level, frame, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops all workers; queued and running frames fail. */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const workers = this.workers.splice(0);
    for (const task of this.queue.splice(0)) task.reject(new Error('compression pool closed'));
    await Promise.all(workers.map(({ worker }) => worker.terminate()));
  }

  private dispatch(): void {
    clearTimeout(this.idleTimer);
    while (this.queue.length > 0) {
      const idle = this.workers.find((candidate) => !candidate.task) ?? this.spawn();
      if (!idle) return;
      const task = this.queue.shift() as Task;
      idle.task = task;
      // A busy worker keeps the process alive (the caller awaits it); an idle one must not.
      idle.worker.ref();
      const memory = task.frame.buffer as ArrayBuffer;
      idle.worker.postMessage(
        { id: this.nextId++, compression: task.compression, level: task.level, memory, length: task.frame.length },
        [memory],
      );
    }
    if (this.workers.length > 0 && this.workers.every((candidate) => !candidate.task)) {
      this.idleTimer = setTimeout(() => void this.close(), IDLE_SHUTDOWN_MS);
      this.idleTimer.unref();
    }
  }

  private spawn(): PoolWorker | undefined {
    if (this.workers.length >= this.size) return undefined;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ...this.modules, zstdParameters: ZSTD_FRAME_PARAMETERS, lz4Options: LZ4_FRAME_OPTIONS },
    });
    const entry: PoolWorker = { worker };
    worker.on('message', (reply: WorkerReply) => this.onReply(entry, reply));
    const fail = (error: Error): void => {
      const index = this.workers.indexOf(entry);
      if (index >= 0) this.workers.splice(index, 1);
      entry.task?.reject(error);
      entry.task = undefined;
      this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`compression worker exited with code ${code}`)));
    this.workers.push(entry);
    return entry;
  }

  private onReply(entry: PoolWorker, reply: WorkerReply): void {
    const task = entry.task;
    entry.task = undefined;
    entry.worker.unref();
    if (task) {
      if (reply.error !== undefined || reply.storedLength === undefined) task.reject(new Error(`frame compression failed: ${reply.error}`));
      else task.resolve({ stored: Buffer.from(reply.memory, 0, reply.storedLength), memory: reply.memory });
    }
    this.dispatch();
  }
}

let shared: CompressionPool | undefined;

/** Two workers at most: on the 2-core machines we target the producer needs the other core. */
export function defaultPoolSize(): number {
  return Math.min(2, availableParallelism());
}

/** The process-wide pool, created on first use; idle workers exit after 30 s. */
export function sharedCompressionPool(): CompressionPool {
  shared ??= new CompressionPool(defaultPoolSize());
  return shared;
}
