import { availableParallelism } from "node:os";
import { Transform, type TransformCallback } from "node:stream";
import { Worker } from "node:worker_threads";
import { gzipSync } from "node:zlib";
import { ConfigError } from "../errors.js";

/** Options of `createGzipStream`. */
export interface GzipStreamOptions {
  /** zlib level 0–9. Default 1: compression is the pipeline's speed limit, and level 1 keeps most of the ratio. */
  readonly level?: number;
  /** Compression threads. Default `os.availableParallelism()`. */
  readonly workers?: number;
  /** Uncompressed bytes per gzip member, 64 KiB – 64 MiB. Default 1 MiB. */
  readonly blockSize?: number;
}

/** Default uncompressed size of one gzip member: large enough that the per-member dictionary reset costs < 0.5 % of ratio. */
export const DEFAULT_GZIP_BLOCK_SIZE = 1024 * 1024;

const MIN_BLOCK = 64 * 1024;
const MAX_BLOCK = 64 * 1024 * 1024;

/**
 * Blocks per worker that may be dispatched but not yet emitted. Two keeps every worker busy
 * while the main thread copies the next block, and bounds memory to a few MiB per worker.
 */
const BLOCKS_PER_WORKER = 2;

/**
 * The worker is plain CommonJS evaluated from a string, so the same code runs from TypeScript
 * sources under vitest and from the compiled dist/ without a separate file to locate.
 * It returns the input buffer with the result so the main thread can reuse it for a later block.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { gzipSync } = require("node:zlib");
parentPort.on("message", (job) => {
  let out;
  try {
    out = gzipSync(new Uint8Array(job.input, 0, job.length), { level: workerData.level });
  } catch (err) {
    parentPort.postMessage({ seq: job.seq, error: String((err && err.message) || err), input: job.input }, [job.input]);
    return;
  }
  // Small results live in Node's shared Buffer pool, which must never be detached by a transfer.
  const owned = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength;
  const output = owned ? out.buffer : out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
  parentPort.postMessage({ seq: job.seq, output, input: job.input }, [output, job.input]);
});
`;

interface Job {
  readonly seq: number;
  readonly input: ArrayBuffer;
  readonly length: number;
}

interface Reply {
  readonly seq: number;
  readonly input: ArrayBuffer;
  readonly output?: ArrayBuffer;
  readonly error?: string;
}

interface PoolWorker {
  readonly worker: Worker;
  busy: number;
}

const live = new Set<Worker>();

/**
 * Number of gzip worker threads alive in this process, across all streams. Diagnostics for
 * tests and leak checks: it returns to 0 once every stream has ended or been destroyed.
 */
export function liveGzipWorkers(): number {
  return live.size;
}

function validate(options: GzipStreamOptions): { level: number; workers: number; blockSize: number } {
  const level = options.level ?? 1;
  const workers = options.workers ?? availableParallelism();
  const blockSize = options.blockSize ?? DEFAULT_GZIP_BLOCK_SIZE;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new ConfigError("gzip.level", `must be an integer from 0 to 9, got ${String(level)}`);
  }
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new ConfigError("gzip.workers", `must be an integer from 1 to 64, got ${String(workers)}`);
  }
  if (!Number.isInteger(blockSize) || blockSize < MIN_BLOCK || blockSize > MAX_BLOCK) {
    throw new ConfigError("gzip.blockSize", `must be an integer from ${MIN_BLOCK} to ${MAX_BLOCK}, got ${String(blockSize)}`);
  }
  return { level, workers, blockSize };
}

/**
 * A Transform that gzips its input on a pool of worker threads.
 *
 * The input is cut into blocks of `blockSize` bytes; each block becomes one independent gzip
 * member (RFC 1952 §2.2 allows a file to be a series of members), and members are emitted in
 * input order. `gunzip`, Node's `zlib.createGunzip` and `mongorestore --gzip` read the
 * concatenation as one stream. Empty input yields one empty member, as `gzip` does.
 *
 * Memory is bounded: at most `2 × workers` blocks are being compressed or waiting to be
 * emitted; further writes wait (back-pressure reaches the source). Threads start on the first
 * full block (a stream shorter than one block is compressed on the calling thread) and are
 * terminated when the stream ends, errors or is destroyed; an idle pool never keeps the
 * process alive.
 *
 * Throws ConfigError synchronously for an invalid option. A worker failure destroys the
 * stream with an Error naming the block.
 */
export function createGzipStream(options: GzipStreamOptions = {}): Transform {
  const { level, workers: workerCount, blockSize } = validate(options);
  const maxInFlight = workerCount * BLOCKS_PER_WORKER;

  const pool: PoolWorker[] = [];
  const spare: ArrayBuffer[] = [];
  const finished = new Map<number, Buffer>();
  let block: Uint8Array | null = null;
  let filled = 0;
  let nextSeq = 0;
  let nextEmit = 0;
  let failure: Error | null = null;
  // Resolved whenever a block is emitted (or the stream fails): a writer waiting for a free slot, or flush waiting for the last block.
  let wake: (() => void) | null = null;

  const inFlight = (): number => nextSeq - nextEmit;

  const waitForEmit = (): Promise<void> =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });

  const signal = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };

  const stopPool = (): void => {
    for (const p of pool) void p.worker.terminate();
    pool.length = 0;
  };

  const fail = (err: Error): void => {
    if (failure) return;
    failure = err;
    stream.destroy(err);
  };

  const onReply = (p: PoolWorker, reply: Reply): void => {
    p.busy -= 1;
    // A worker only holds the process open while it has work: an abandoned stream must not hang the process.
    if (p.busy === 0) p.worker.unref();
    if (failure) return;
    spare.push(reply.input);
    if (reply.error !== undefined || !reply.output) {
      fail(new Error(`gzip block ${reply.seq}: ${reply.error ?? "no output"}`));
      return;
    }
    finished.set(reply.seq, Buffer.from(reply.output));
    for (let out = finished.get(nextEmit); out; out = finished.get(nextEmit)) {
      finished.delete(nextEmit);
      nextEmit += 1;
      stream.push(out);
    }
    signal();
  };

  const spawn = (): PoolWorker => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { level } });
    const p: PoolWorker = { worker, busy: 0 };
    live.add(worker);
    worker.on("message", (reply: Reply) => onReply(p, reply));
    worker.on("error", (err) => fail(new Error(`gzip worker: ${err.message}`, { cause: err })));
    worker.on("exit", (code) => {
      live.delete(worker);
      if (p.busy > 0 && !failure) fail(new Error(`gzip worker exited with code ${code} while compressing`));
    });
    return p;
  };

  const dispatch = (input: Uint8Array, length: number): void => {
    if (pool.length < workerCount && pool.every((p) => p.busy > 0)) pool.push(spawn());
    let target = pool[0] as PoolWorker;
    for (const p of pool) if (p.busy < target.busy) target = p;
    if (target.busy === 0) target.worker.ref();
    target.busy += 1;
    const job: Job = { seq: nextSeq, input: input.buffer as ArrayBuffer, length };
    nextSeq += 1;
    target.worker.postMessage(job, [job.input]);
  };

  const newBlock = (): Uint8Array => {
    const reused = spare.pop();
    return reused ? new Uint8Array(reused) : new Uint8Array(new ArrayBuffer(blockSize));
  };

  /** Hands the current block to the pool once a slot is free; a no-op after a failure. */
  const sendBlock = async (): Promise<void> => {
    while (inFlight() >= maxInFlight && !failure) await waitForEmit();
    if (failure || !block) return;
    dispatch(block, filled);
    block = null;
    filled = 0;
  };

  const write = async (chunk: Uint8Array): Promise<void> => {
    let offset = 0;
    while (offset < chunk.length) {
      block ??= newBlock();
      const n = Math.min(blockSize - filled, chunk.length - offset);
      block.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === blockSize) await sendBlock();
      if (failure) return;
    }
  };

  const finish = async (): Promise<void> => {
    if (nextSeq === 0) {
      // Shorter than one block: starting threads would cost more than compressing here.
      stream.push(gzipSync(block ? block.subarray(0, filled) : new Uint8Array(0), { level }));
      return;
    }
    if (filled > 0) await sendBlock();
    while (inFlight() > 0 && !failure) await waitForEmit();
    stopPool();
  };

  const stream = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      write(chunk).then(
        () => callback(failure ?? undefined),
        (err: unknown) => callback(err as Error),
      );
    },
    flush(callback: TransformCallback): void {
      finish().then(
        () => callback(failure ?? undefined),
        (err: unknown) => callback(err as Error),
      );
    },
    destroy(err: Error | null, callback: (error: Error | null) => void): void {
      failure ??= err ?? new Error("gzip stream destroyed");
      stopPool();
      finished.clear();
      spare.length = 0;
      signal();
      callback(err);
    },
  });
  return stream;
}
