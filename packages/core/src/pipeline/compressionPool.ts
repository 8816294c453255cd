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
 * Frame buffers are transferred, not copied, both ways.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const zlib = require('node:zlib');
const zstd = require(workerData.zstdBindingPath);
const lz4 = require(workerData.lz4Path);
const contexts = new Map();
// One output buffer per worker, reused: a fresh compressBound-sized buffer per frame is garbage
// that V8 only collects after tens of MiB, which showed up as ~50 MB of RSS per worker.
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
    case 'none': return Buffer.from(raw);
  }
  throw new Error('unknown compression ' + compression);
}
parentPort.on('message', ({ id, compression, level, input, offset, length }) => {
  let output;
  try {
    output = encode(compression, level, Buffer.from(input, offset, length));
  } catch (error) {
    parentPort.postMessage({ id, input, offset, error: String((error && error.message) || error) }, [input]);
    return;
  }
  // The scratch buffer stays here, and small results may live in Node's shared Buffer pool,
  // which must not be transferred: those are copied into an exactly sized buffer.
  const owned = output.buffer !== scratch.buffer && output.length >= 65536 && output.buffer.byteLength - output.length < 65536;
  const body = owned ? output.buffer : new Uint8Array(output).buffer;
  const bodyOffset = owned ? output.byteOffset : 0;
  parentPort.postMessage({ id, input, offset, output: body, outputOffset: bodyOffset, outputLength: output.length }, [input, body]);
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
  input: ArrayBuffer;
  offset: number;
  output?: ArrayBuffer;
  outputOffset?: number;
  outputLength?: number;
  error?: string;
}

export interface EncodedFrame {
  stored: Buffer;
  /** The input frame's memory, handed back so the caller can reuse it for the next frame. */
  frame: Buffer;
}

interface PoolWorker {
  worker: Worker;
  task?: Task;
}

const IDLE_SHUTDOWN_MS = 30_000;

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
   * Compresses one frame on a worker. `frame` must be the only view that matters of its
   * ArrayBuffer (it is detached while the worker has it); the same memory comes back as `frame`.
   */
  encode(compression: Compression, level: number, frame: Buffer): Promise<EncodedFrame> {
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
      const { frame } = task;
      idle.worker.postMessage(
        { id: this.nextId++, compression: task.compression, level: task.level, input: frame.buffer, offset: frame.byteOffset, length: frame.length },
        [frame.buffer as ArrayBuffer],
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
      const frame = Buffer.from(reply.input, reply.offset, task.frame.length);
      if (reply.error !== undefined || !reply.output) task.reject(new Error(`frame compression failed: ${reply.error}`));
      else task.resolve({ stored: Buffer.from(reply.output, reply.outputOffset, reply.outputLength), frame });
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
