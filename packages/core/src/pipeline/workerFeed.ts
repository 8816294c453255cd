import type { Worker } from 'node:worker_threads';
import type { KeepFrame } from './streamDecoders.js';

/**
 * Hands raw bytes to worker threads (one or several lanes) without copying them when it can: a decoded frame in a codec
 * worker's shared memory is kept (KeepFrame) until the worker has used what it was sent from it,
 * then handed back. Copying it instead costs as much as hashing or writing it (V8 copies into and
 * out of shared memory with relaxed atomics: 0.54 s per 780 MB on the main thread). Other bytes (a
 * frame that cannot be kept) are copied through each worker's ring in shared memory; the worker
 * counts the ring bytes it is done with in a shared counter, and when its ring is full the main
 * thread waits on it (Atomics.wait, a few milliseconds at most). Messages only say where each
 * piece is. A kept frame whose bytes went to several workers is handed back when all are done.
 *
 * The worker's side is WORKER_FEED_SOURCE: its `feedBytes(message, use)` calls `use` with the bytes
 * a message sent by `send` names, and `feedControl(message)` answers the feed's own messages.
 */
export const WORKER_FEED_SOURCE = `
const feedRing = Buffer.from(workerData.feed.ring);
const feedConsumed = new BigInt64Array(workerData.feed.control);
const feedMemories = [];
function feedBytes(message, use) {
  if (message.memory !== undefined) return use(feedMemories[message.memory].subarray(message.at, message.at + message.length));
  try {
    const end = message.at + message.length;
    if (end <= feedRing.length) use(feedRing.subarray(message.at, end));
    else {
      use(feedRing.subarray(message.at));
      use(feedRing.subarray(0, end - feedRing.length));
    }
  } finally {
    // Counted even when use failed: the main thread must never wait for room that never comes.
    Atomics.add(feedConsumed, 0, BigInt(message.length));
    Atomics.notify(feedConsumed, 0);
  }
}
function feedControl(message) {
  if (message.op === 'memory') feedMemories[message.id] = Buffer.from(message.memory);
  else if (message.op === 'release') parentPort.postMessage({ release: message.token });
  else return false;
  return true;
}
`;

const RING_BYTES = 8 * 1024 * 1024;
/** How long the main thread waits for room before it calls the worker stuck. */
const STALL_LIMIT_MS = 60_000;

/** Passed to a worker as `workerData.feed`. */
export interface FeedMemory {
  ring: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

/** One worker and the ring its copied bytes go through. */
interface Lane {
  worker: Worker;
  ring: Buffer;
  consumed: BigInt64Array;
  /** Ring bytes sent so far. */
  written: number;
  /** Shared memories this worker has been told about, by id. */
  memories: Set<number>;
}

/** The frame being walked, when its bytes can be used where they lie. */
interface HeldFrame {
  memory: SharedArrayBuffer;
  memoryId: number;
  keep: KeepFrame;
  /** The lanes some of its bytes were sent to: it is kept until each is done with them. */
  lanes: Set<number>;
}

export class WorkerFeed {
  private readonly lanes: Lane[] = [];
  private frame: HeldFrame | undefined;
  private readonly memoryIds = new Map<SharedArrayBuffer, number>();
  /** Kept frames by token: their release, and how many lanes have yet to answer. */
  private readonly kept = new Map<number, { release: () => void; waiting: number }>();
  private nextToken = 0;
  /** Why the workers can take no more bytes, once they cannot. */
  failure: Error | undefined;

  /** `workerName` says which worker in the error of one that stopped taking bytes. */
  constructor(private readonly workerName: string) {}

  /** Starts a lane: `start` creates its worker with `workerData.feed` set to the memory given. */
  addWorker(start: (feed: FeedMemory) => Worker): Worker {
    const memory = { ring: new SharedArrayBuffer(RING_BYTES), control: new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT) };
    const worker = start(memory);
    this.lanes.push({ worker, ring: Buffer.from(memory.ring), consumed: new BigInt64Array(memory.control), written: 0, memories: new Set() });
    worker.on('message', (message: { release?: number }) => {
      if (message.release !== undefined) this.answerRelease(message.release);
    });
    return worker;
  }

  /**
   * A decoded frame is about to be walked. Given `keep`, its bytes in shared memory are sent where
   * they lie (the frame is kept until the workers are done with them); otherwise send() copies them.
   */
  beginFrame(raw: Buffer, keep?: KeepFrame): void {
    this.frame = undefined;
    if (!keep || !(raw.buffer instanceof SharedArrayBuffer) || this.failure) return;
    let memoryId = this.memoryIds.get(raw.buffer);
    if (memoryId === undefined) {
      memoryId = this.memoryIds.size;
      this.memoryIds.set(raw.buffer, memoryId);
    }
    this.frame = { memory: raw.buffer, memoryId, keep, lanes: new Set() };
  }

  /** The frame has been walked: it is handed back once the workers are done with its bytes. */
  endFrame(): void {
    const frame = this.frame;
    this.frame = undefined;
    if (!frame || frame.lanes.size === 0) return;
    const token = this.nextToken++;
    this.kept.set(token, { release: frame.keep(), waiting: frame.lanes.size });
    for (const lane of frame.lanes) this.post({ op: 'release', token }, lane);
  }

  /** Sends `{ op, ... }` naming `bytes` to lane `lane`'s worker, for its feedBytes. */
  send(op: string, bytes: Buffer, lane = 0): void {
    const frame = this.frame;
    const to = this.lanes[lane] as Lane;
    if (frame && bytes.buffer === frame.memory) {
      if (!to.memories.has(frame.memoryId)) {
        to.memories.add(frame.memoryId);
        to.worker.postMessage({ op: 'memory', id: frame.memoryId, memory: frame.memory });
      }
      frame.lanes.add(lane);
      to.worker.postMessage({ op, memory: frame.memoryId, at: bytes.byteOffset, length: bytes.length });
      return;
    }
    for (let at = 0; at < bytes.length; ) {
      const piece = bytes.subarray(at, at + RING_BYTES / 2);
      this.waitForRoom(to, piece.length);
      const start = to.written % RING_BYTES;
      const first = Math.min(piece.length, RING_BYTES - start);
      piece.copy(to.ring, start, 0, first);
      if (first < piece.length) piece.copy(to.ring, 0, first);
      to.worker.postMessage({ op, at: start, length: piece.length });
      to.written += piece.length;
      at += piece.length;
    }
  }

  post(message: object, lane = 0): void {
    (this.lanes[lane] as Lane).worker.postMessage(message);
  }

  /** A worker failed or stopped: frames the workers still held go back to their codec workers. */
  fail(error: Error): void {
    this.failure ??= error;
    this.releaseAllKept();
  }

  releaseAllKept(): void {
    const kept = [...this.kept.values()];
    this.kept.clear();
    for (const { release } of kept) release();
  }

  private answerRelease(token: number): void {
    const kept = this.kept.get(token);
    if (!kept || --kept.waiting > 0) return;
    this.kept.delete(token);
    kept.release();
  }

  private waitForRoom(lane: Lane, bytes: number): void {
    const waitedSince = Date.now();
    for (;;) {
      const done = Atomics.load(lane.consumed, 0);
      if (lane.written + bytes - Number(done) <= RING_BYTES) return;
      if (this.failure) throw this.failure;
      if (Date.now() - waitedSince > STALL_LIMIT_MS) throw new Error(`the ${this.workerName} stopped taking bytes`);
      Atomics.wait(lane.consumed, 0, done, 100);
    }
  }
}
