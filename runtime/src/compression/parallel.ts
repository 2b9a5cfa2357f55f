import { availableParallelism } from "node:os";
import { Transform, type TransformCallback } from "node:stream";
import { Worker } from "node:worker_threads";
import { crc64Ranges } from "../archive/crc64.js";
import { ConfigError } from "../errors.js";
import type { BlockEngine, BlockJob, BlockResult, BlockSlot, BlockWorkerData } from "./block-worker.js";

/** Options shared by the parallel compressors (gzip, zstd). */
export interface ParallelCompressionOptions {
  /** Blocks compressed at the same time, each on its own worker thread. Default `defaultCompressionWorkers()`: the CPU count. */
  readonly workers?: number;
  /** Uncompressed bytes per independent member or frame, 64 KiB – 64 MiB. Default 1 MiB. */
  readonly blockSize?: number;
}

/** Default uncompressed size of one block: large enough that the per-block dictionary reset costs < 0.5 % of ratio. */
export const DEFAULT_BLOCK_SIZE = 1024 * 1024;

const MIN_BLOCK = 64 * 1024;
const MAX_BLOCK = 64 * 1024 * 1024;

/**
 * Blocks per worker that may be compressing or waiting to be emitted in order. Two lets a
 * fast block wait for a slow predecessor without idling a thread, and bounds memory to
 * 2 × workers × (blockSize + its compressed bound) of shared buffers.
 */
const BLOCKS_PER_WORKER = 2;

/**
 * V8 heap limits of a compression or decompression thread. Its JavaScript allocates next to
 * nothing per block (the data lives in shared buffers), so small limits only keep idle heap from
 * being reserved.
 */
export const WORKER_LIMITS = { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 };

/**
 * The URL of a thread's module `name` beside this one: `name`.js once built, `name`.ts when the
 * tests run the sources (Node strips the types itself).
 */
export function threadModule(name: string): URL {
  return new URL(`./${name}${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url);
}

/**
 * Room a block of `length` bytes may need once compressed: more than both zlib's deflateBound
 * (plus gzip's 18-byte header and trailer) and ZSTD_compressBound for incompressible input.
 */
export function compressedBound(length: number): number {
  return length + (length >>> 7) + 1024;
}

/** The default `workers`: the number of CPUs this process may use. */
export function defaultCompressionWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), 64));
}

let activeJobs = 0;

/**
 * Number of blocks being compressed in this process, across all streams and algorithms.
 * Diagnostics for tests and leak checks: it returns to 0 once every stream has ended or been
 * destroyed.
 */
export function activeCompressionJobs(): number {
  return activeJobs;
}

/** What one algorithm contributes to `createParallelCompressor`. */
export interface BlockCodec {
  /** Lower-case name for errors and config fields ("gzip", "zstd"). */
  readonly name: string;
  /** What the compression threads make of each block. */
  readonly engine: BlockEngine;
  /** The same output, computed synchronously: for input shorter than one block, where starting threads buys nothing. */
  compressSync(input: Buffer): Buffer;
}
/** Validates `workers` and `blockSize`, naming the field as `<codec>.workers` / `<codec>.blockSize`. */
export function parallelSettings(name: string, options: ParallelCompressionOptions): { workers: number; blockSize: number } {
  const workers = options.workers ?? defaultCompressionWorkers();
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new ConfigError(`${name}.workers`, `must be an integer from 1 to 64, got ${String(workers)}`);
  }
  if (!Number.isInteger(blockSize) || blockSize < MIN_BLOCK || blockSize > MAX_BLOCK) {
    throw new ConfigError(`${name}.blockSize`, `must be an integer from ${MIN_BLOCK} to ${MAX_BLOCK}, got ${String(blockSize)}`);
  }
  return { workers, blockSize };
}


/** Bytes the compressor can read straight into its blocks: a file, read on from where the last read stopped. */
export interface BlockSource {
  /** Reads up to `length` bytes into `buffer` at `offset`; resolves to the number read, 0 at the end. */
  readBlock(buffer: Buffer, offset: number, length: number): Promise<number>;
}

/**
 * Ranges of each block to checksum (CRC-64/XZ) on the compression thread beside compressing it,
 * found while the block is inspected (`createDeferredCrcs` is one).
 */
export interface BlockChecksums {
  /** A block starts being filled in `block`; the bytes `inspect` is then given are views of it. */
  startBlock(block: SharedArrayBuffer): void;
  /** The block is complete: its ranges, and where their checksums go. */
  takeBlock(): { readonly ranges: readonly number[]; settle(crcs: readonly bigint[]): void };
}

/** A parallel compressor; besides being written to, it can read its input itself. */
export type ParallelCompressor = Transform & {
  /**
   * Reads `source` to its end straight into the blocks, with no intermediate chunks and no copy,
   * calls `inspect` with each run of bytes read (in order, before they are compressed), then
   * ends the stream. For a caller that does not write to the stream. With `checksums`, the
   * ranges each block's inspection recorded are checksummed by the thread that compresses it
   * and settled before the stream ends. An error from the source or thrown by `inspect` destroys
   * the stream with it; the promise itself always resolves.
   */
  fill(source: BlockSource, inspect: (bytes: Buffer) => void, checksums?: BlockChecksums): Promise<void>;
};

const WORKER_URL = threadModule("block-worker");

/**
 * A Transform that compresses its input on several threads at once.
 *
 * The input is cut into blocks of `blockSize` bytes; each block becomes one independent unit of
 * `codec` (a gzip member, a zstd frame), and units are emitted in input order, so the output is
 * the concatenation every decoder of the format reads as one stream. Input shorter than one
 * block (empty included) is compressed synchronously into exactly one unit, and starts no thread.
 *
 * Each block is compressed by a worker thread (block-worker.ts) in one synchronous zlib call,
 * up to `workers` blocks at a time. The block and its output live in SharedArrayBuffers that are
 * reused, so neither thread allocates per block and nothing crosses between them but two small
 * messages. This replaced node:zlib's asynchronous API on libuv's pool, which hands every 64 KiB
 * of output back to the main thread: there the pool waited whenever the main thread was busy
 * checksumming and encrypting, and the two mostly took turns (measured per thread on a 1 GiB
 * backup: main 31–47 % busy, pool 52–98 % of a core, 1.2–1.3 cores in all).
 *
 * Memory is bounded: at most `2 × workers` blocks are compressing or waiting to be emitted, plus
 * the one being filled; further writes wait, so back-pressure reaches the source. Ending the
 * stream stops its threads; destroying it (including by an error upstream or downstream) does
 * too, at once, so nothing keeps the process alive afterwards.
 *
 * A compressor failure destroys the stream with an Error naming the block; a thread that dies
 * destroys it with an Error naming the thread.
 */
export function createParallelCompressor(codec: BlockCodec, settings: { workers: number; blockSize: number }): ParallelCompressor {
  const { workers, blockSize } = settings;
  const maxInFlight = workers * BLOCKS_PER_WORKER;
  const outputSize = compressedBound(blockSize);

  /** A block's buffers; `index` is its place in every thread's list, `view` the input as a Buffer. */
  interface Slot extends BlockSlot {
    readonly index: number;
    readonly view: Buffer;
  }
  interface Job {
    readonly seq: number;
    readonly slot: Slot;
    readonly length: number;
    readonly sums: ReturnType<BlockChecksums["takeBlock"]> | undefined;
  }
  interface Thread {
    readonly worker: Worker;
    job: Job | null;
  }
  const threads: Thread[] = [];
  const queued: Job[] = [];
  // Every block in flight, and the one being filled, has a slot: allocated with the first full block.
  let slots: Slot[] = [];
  const spare: Slot[] = [];
  const finished = new Map<number, Buffer>();
  let slot: Slot | null = null;
  let filled = 0;
  let nextSeq = 0;
  let nextEmit = 0;
  let failure: Error | null = null;
  let stopped = false;
  /** Set by fill(): the checksums of each block it reads. */
  let checksums: BlockChecksums | undefined;
  // Resolved whenever a block finishes (or the stream fails): a writer waiting for a slot, or flush waiting for the last block.
  let wake: (() => void) | null = null;

  const waitForProgress = (): Promise<void> =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });

  const signal = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };

  const fail = (err: Error): void => {
    if (failure) return;
    failure = err;
    stream.destroy(err);
  };

  /** Forgets the thread's job, if any; returns it. */
  const release = (t: Thread): Job | null => {
    const job = t.job;
    if (job) activeJobs -= 1;
    t.job = null;
    return job;
  };

  const stopThreads = (): Promise<unknown> => {
    stopped = true;
    for (const t of threads) release(t);
    const exits = threads.map((t) => t.worker.terminate().catch(() => undefined));
    threads.length = 0;
    return Promise.all(exits);
  };

  const emitReady = (): void => {
    for (let out = finished.get(nextEmit); out; out = finished.get(nextEmit)) {
      finished.delete(nextEmit);
      nextEmit += 1;
      stream.push(out);
    }
  };

  const run = (t: Thread, job: Job): void => {
    t.job = job;
    activeJobs += 1;
    const message: BlockJob = { seq: job.seq, slot: job.slot.index, length: job.length, ...(job.sums ? { ranges: job.sums.ranges } : {}) };
    t.worker.postMessage(message);
  };

  const onResult = (t: Thread, result: BlockResult): void => {
    const job = release(t);
    if (!job || failure) return;
    if ("error" in result) return fail(new Error(`${codec.name} block ${job.seq}: ${result.error}`));
    job.sums?.settle(result.crcs ?? []);
    // A copy: the slot takes the next block at once.
    finished.set(job.seq, Buffer.from(new Uint8Array(job.slot.output, 0, result.length)));
    spare.push(job.slot);
    const next = queued.shift();
    if (next) run(t, next);
    emitReady();
    signal();
  };

  const spawn = (): Thread => {
    const workerData: BlockWorkerData = { engine: codec.engine, blockSize, slots: slots.map(({ input, output }) => ({ input, output })) };
    const worker = new Worker(WORKER_URL, { workerData, resourceLimits: WORKER_LIMITS });
    const t: Thread = { worker, job: null };
    worker.on("message", (result: BlockResult) => onResult(t, result));
    worker.on("error", (err: Error) => fail(new Error(`${codec.name} thread: ${err.message}`, { cause: err })));
    worker.on("exit", (code) => {
      if (!stopped) fail(new Error(`${codec.name} thread exited with code ${code} before the stream ended`));
    });
    threads.push(t);
    return t;
  };

  /**
   * Queues the current block once an in-flight slot is free (a no-op after a failure) and starts
   * it on an idle thread, starting threads as they are first needed. Filled blocks wait in the
   * queue rather than in the writer, so the stages upstream keep reading ahead while every thread
   * is busy: a thread that finishes finds its next block ready.
   */
  const sendBlock = async (): Promise<void> => {
    while (nextSeq - nextEmit >= maxInFlight && !failure) await waitForProgress();
    if (failure || !slot) return;
    const job: Job = { seq: nextSeq, slot, length: filled, sums: checksums?.takeBlock() };
    nextSeq += 1;
    slot = null;
    filled = 0;
    const idle = threads.find((t) => t.job === null) ?? (threads.length < workers ? spawn() : undefined);
    if (idle) run(idle, job);
    else queued.push(job);
  };

  const write = async (chunk: Uint8Array): Promise<void> => {
    let offset = 0;
    while (offset < chunk.length) {
      slot ??= spare.pop() ?? firstSlot();
      const n = Math.min(blockSize - filled, chunk.length - offset);
      slot.view.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === blockSize) await sendBlock();
      if (failure) return;
    }
  };

  /** Allocates the slots, once: a stream that is never given more than one slot's worth has only its first. */
  const firstSlot = (): Slot => {
    if (slots.length > 0) throw new Error(`${codec.name} stream: no free block slot`);
    slots = Array.from({ length: maxInFlight + 1 }, (_, index) => {
      const input = new SharedArrayBuffer(blockSize);
      return { index, input, output: new SharedArrayBuffer(outputSize), view: Buffer.from(input) };
    });
    spare.push(...slots.slice(1));
    return slots[0] as Slot;
  };

  const fill = async (source: BlockSource, inspect: (bytes: Buffer) => void, sums?: BlockChecksums): Promise<void> => {
    checksums = sums;
    try {
      while (!failure) {
        if (!slot) {
          slot = spare.pop() ?? firstSlot();
          checksums?.startBlock(slot.input);
        }
        const into = slot;
        const n = await source.readBlock(into.view, filled, blockSize - filled);
        // Destroyed while reading: the slot may be gone already.
        if (failure || slot !== into) return;
        if (n === 0) break;
        inspect(into.view.subarray(filled, filled + n));
        filled += n;
        if (filled === blockSize) await sendBlock();
      }
      if (!failure) stream.end();
    } catch (err) {
      stream.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  };

  const finish = async (): Promise<void> => {
    if (nextSeq === 0) {
      const input = slot ? Buffer.from(slot.view.subarray(0, filled)) : Buffer.alloc(0);
      if (checksums) {
        const sums = checksums.takeBlock();
        sums.settle(crc64Ranges(slot ? slot.view : input, sums.ranges));
      }
      stream.push(codec.compressSync(input));
      return;
    }
    if (filled > 0) await sendBlock();
    while (nextEmit < nextSeq && !failure) await waitForProgress();
    await stopThreads();
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
      failure ??= err ?? new Error(`${codec.name} stream destroyed`);
      void stopThreads();
      finished.clear();
      queued.length = 0;
      spare.length = 0;
      slots = [];
      slot = null;
      signal();
      callback(err);
    },
  });
  return Object.assign(stream, { fill });
}
