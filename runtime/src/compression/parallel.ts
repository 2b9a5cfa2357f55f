import { availableParallelism } from "node:os";
import { Transform, type TransformCallback } from "node:stream";
import { ConfigError, InternalError } from "../errors.js";

/** Options shared by the parallel compressors (gzip, zstd). */
export interface ParallelCompressionOptions {
  /**
   * Blocks compressed at the same time, each on its own libuv thread-pool thread.
   * Default `defaultCompressionWorkers()`: the CPU count, leaving one pool thread for file I/O.
   */
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
 * 2 × workers × blockSize of input.
 */
const BLOCKS_PER_WORKER = 2;

/** libuv's thread-pool size: UV_THREADPOOL_SIZE when set (1–1024), else libuv's default of 4. */
function threadPoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4;
}

/**
 * The default `workers`: the number of CPUs, capped at the thread-pool size minus one so that
 * file reads and writes, which share libuv's pool, are never queued behind compression.
 * Set UV_THREADPOOL_SIZE before the process starts to use more than 3 cores.
 */
export function defaultCompressionWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), threadPoolSize() - 1));
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

/** A zlib compressor as `createParallelCompressor` drives it: Node's Gzip and ZstdCompress both are one. */
export type BlockCompressor = Transform & {
  /** Ends the member or frame written so far (with `BlockCodec.endFlush`), leaving the stream open. */
  flush(kind: number, callback: (err?: Error | null) => void): void;
  /** Starts over with the options the compressor was created with, keeping its allocated memory. */
  reset(): void;
};

/**
 * Views a node:zlib compressor as a BlockCompressor. @types/node leaves `reset()` off Gzip and
 * ZstdCompress although both have it (zlib's deflateReset, zstd's ZSTD_CCtx_reset), so it is checked
 * here: throws InternalError on a Node without it.
 */
export function blockCompressor(z: Transform): BlockCompressor {
  const c = z as Partial<BlockCompressor>;
  if (typeof c.reset !== "function" || typeof c.flush !== "function") throw new InternalError("this Node's zlib compressors cannot be reset; use Node 24 LTS or 22.15+");
  return z as BlockCompressor;
}

/** What one algorithm contributes to `createParallelCompressor`. */
export interface BlockCodec {
  /** Lower-case name for errors and config fields ("gzip", "zstd"). */
  readonly name: string;
  /**
   * A fresh asynchronous (thread-pool) compressor for members or frames of `length` bytes each.
   * One is reused, `reset()` between blocks, for every full block a worker compresses.
   */
  createBlock(length: number): BlockCompressor;
  /** The flush kind that completes one member or frame: zlib's Z_FINISH, zstd's ZSTD_e_end. */
  readonly endFlush: number;
  /** The same output, computed synchronously: for input shorter than one block, where a pool round trip buys nothing. */
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

/**
 * A Transform that compresses its input on several threads at once.
 *
 * The input is cut into blocks of `blockSize` bytes; each block becomes one independent unit of
 * `codec` (a gzip member, a zstd frame), and units are emitted in input order, so the output is
 * the concatenation every decoder of the format reads as one stream. Input shorter than one
 * block (empty included) is compressed synchronously into exactly one unit.
 *
 * Each block is compressed by zlib on libuv's thread pool (Node's asynchronous zlib), up to
 * `workers` blocks at a time. The pool, unlike worker threads, adds no V8 heaps: measured on
 * 200 MiB of demo data the gzip stage peaks at ≈ 90 MiB RSS where a two-worker-thread version
 * peaked at ≈ 170 MiB, each isolate holding its own uncollected buffers.
 *
 * Compressors are reused too: each full block goes to an idle compressor, `reset()` after its
 * previous block, so a worker's zlib or zstd context is allocated once rather than once per block
 * (measured on 64 MiB of demo data: 22 % less CPU for gzip -1, 9 % for zstd -1, the same bytes).
 * Only a short last block gets a compressor of its own, since a zstd frame declares its size.
 *
 * Memory is bounded: input blocks are reused, and at most `2 × workers` blocks are compressing
 * or waiting to be emitted; further writes wait, so back-pressure reaches the source. Ending or
 * destroying the stream (including by an error upstream or downstream) stops every block's
 * compression; nothing keeps the process alive afterwards.
 *
 * A compressor failure destroys the stream with an Error naming the block.
 */
export function createParallelCompressor(codec: BlockCodec, settings: { workers: number; blockSize: number }): Transform {
  const { workers, blockSize } = settings;
  const maxInFlight = workers * BLOCKS_PER_WORKER;

  /** A compressor with the block it is working on; `out` collects that block's output. */
  interface Context {
    readonly z: BlockCompressor;
    readonly reusable: boolean;
    used: boolean;
    seq: number;
    out: Buffer[];
  }
  const contexts = new Set<Context>();
  const idle: Context[] = [];
  const running = new Set<Context>();
  const queued: Array<{ seq: number; input: Buffer; length: number }> = [];
  const spare: Buffer[] = [];
  const finished = new Map<number, Buffer[]>();
  let block: Buffer | null = null;
  let filled = 0;
  let nextSeq = 0;
  let nextEmit = 0;
  let failure: Error | null = null;
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

  const release = (c: Context): boolean => {
    if (!running.delete(c)) return false;
    activeJobs -= 1;
    return true;
  };

  const discard = (c: Context): void => {
    contexts.delete(c);
    c.z.destroy();
  };

  const newContext = (length: number): Context => {
    const c: Context = { z: codec.createBlock(length), reusable: length === blockSize, used: false, seq: -1, out: [] };
    c.z.on("data", (chunk: Buffer) => c.out.push(chunk));
    c.z.on("error", (err: Error) => {
      release(c);
      fail(new Error(`${codec.name} block ${c.seq}: ${err.message}`, { cause: err }));
    });
    contexts.add(c);
    return c;
  };

  const emitReady = (): void => {
    for (let out = finished.get(nextEmit); out; out = finished.get(nextEmit)) {
      finished.delete(nextEmit);
      nextEmit += 1;
      for (const chunk of out) stream.push(chunk);
    }
  };

  const start = (job: { seq: number; input: Buffer; length: number }): void => {
    const { seq, input, length } = job;
    const c = (length === blockSize ? idle.pop() : undefined) ?? newContext(length);
    if (c.used) c.z.reset();
    c.used = true;
    c.seq = seq;
    c.out = [];
    running.add(c);
    activeJobs += 1;
    c.z.write(input.subarray(0, length));
    c.z.flush(codec.endFlush, (err) => {
      if (!release(c) || failure) return;
      if (err) return fail(new Error(`${codec.name} block ${seq}: ${err.message}`, { cause: err }));
      // Output the compressor produced but has not emitted yet: read() hands it to the "data" listener.
      while (c.z.read() !== null);
      const out = c.out;
      c.out = [];
      if (c.reusable) idle.push(c);
      else discard(c);
      const next = queued.shift();
      if (next) start(next);
      // The whole block has been consumed once its member or frame is complete, so the buffer can take the next one.
      spare.push(input);
      finished.set(seq, out);
      emitReady();
      signal();
    });
  };

  /**
   * Queues the current block once an in-flight slot is free (a no-op after a failure) and starts
   * it if a thread is free. Filled blocks wait in the queue rather than in the writer, so the
   * stages upstream keep reading ahead while every thread is busy: a thread that finishes finds
   * its next block ready instead of idling while one is read and verified.
   */
  const sendBlock = async (): Promise<void> => {
    while (nextSeq - nextEmit >= maxInFlight && !failure) await waitForProgress();
    if (failure || !block) return;
    const job = { seq: nextSeq, input: block, length: filled };
    nextSeq += 1;
    block = null;
    filled = 0;
    if (running.size < workers) start(job);
    else queued.push(job);
  };

  const write = async (chunk: Uint8Array): Promise<void> => {
    let offset = 0;
    while (offset < chunk.length) {
      block ??= spare.pop() ?? Buffer.allocUnsafeSlow(blockSize);
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
      stream.push(codec.compressSync(block ? block.subarray(0, filled) : Buffer.alloc(0)));
      return;
    }
    if (filled > 0) await sendBlock();
    while (nextEmit < nextSeq && !failure) await waitForProgress();
    for (const c of contexts) discard(c);
    idle.length = 0;
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
      for (const c of contexts) {
        release(c);
        discard(c);
      }
      idle.length = 0;
      finished.clear();
      queued.length = 0;
      spare.length = 0;
      signal();
      callback(err);
    },
  });
  return stream;
}
