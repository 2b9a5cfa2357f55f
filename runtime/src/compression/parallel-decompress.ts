import { EventEmitter, once } from "node:events";
import { availableParallelism } from "node:os";
import { Transform, type TransformCallback } from "node:stream";
import { Worker } from "node:worker_threads";
import * as zlib from "node:zlib";
import { ConfigError, IntegrityError } from "../errors.js";
import type { FrameJob, FrameResult, FrameSlot, FrameWorkerData } from "./frame-worker.js";
import { compressedBound, threadModule, WORKER_LIMITS } from "./parallel.js";
import { createZstdFrameSplitter, type ZstdFrameEvent, type ZstdFrameInfo } from "./zstd-frames.js";

/** Options of `createParallelZstdDecompressor`. */
export interface ParallelDecompressionOptions {
  /** Frames decoded at the same time, each on its own worker thread. Default `defaultDecompressionWorkers()`. */
  readonly workers?: number;
}

/**
 * The default `workers`: one CPU fewer than this process may use, at least 1 and at most 2. The
 * main thread stays busy decrypting and parsing what the threads emit, and it is the slower side:
 * one thread decodes zstd at about 1 ms/MiB, the archive parse and CRC-64 take about 1.3. Each
 * thread costs ≈ 15 MiB of RSS (its own V8 isolate), so threads that would wait are not started:
 * on the 2-core machine, 2 threads peaked at 150–170 MiB RSS where 1 stays within 128.
 */
export function defaultDecompressionWorkers(): number {
  return Math.min(2, Math.max(1, availableParallelism() - 1));
}

/**
 * Largest frame content the threads decode: 4 × the 1 MiB frames cloudsync writes. Larger frames,
 * and frames that do not declare their size (what `zstd` writes from a pipe, and `zstd -T0`), go
 * through the streaming decoder instead.
 */
export const MAX_THREADED_FRAME = 4 * 1024 * 1024;

/** Frames per thread that may be decoding or waiting to be emitted in order, as for compression (parallel.ts). */
const FRAMES_PER_WORKER = 2;


/** Output chunk of the streaming decoder, the size of a frame we write. */
const STREAM_CHUNK = 1024 * 1024;

const WORKER_URL = threadModule("frame-worker");

let liveThreads = 0;

/**
 * Number of decompression threads running in this process. Diagnostics for tests and leak
 * checks: it returns to 0 once every decompressor has ended or been destroyed.
 */
export function activeDecompressionThreads(): number {
  return liveThreads;
}

/**
 * A Transform that decompresses a zstd stream (any number of frames, RFC 8878 §3.1) on several
 * threads at once, emitting the content in order.
 *
 * The input is cut into frames without decompressing it (zstd-frames.ts). A frame that declares a
 * content size of at most MAX_THREADED_FRAME is copied into a shared buffer and decoded by a
 * worker thread (frame-worker.ts) in one synchronous call, up to `workers` frames at a time and
 * 2 × `workers` in flight; the slots are SharedArrayBuffers handed to the threads once, as the
 * compressors do (parallel.ts). Any other frame is decoded by node:zlib's streaming decoder once
 * every frame before it has been emitted. A stream of one frame is decoded without starting a
 * thread.
 *
 * Memory is bounded by 2 × `workers` slots of MAX_THREADED_FRAME plus its compressed bound, of
 * which a frame touches only its own size. Ending the stream stops its threads; destroying it
 * (including by an error upstream or downstream) does too, at once.
 *
 * Errors: damaged or truncated input destroys the stream with an IntegrityError naming the frame
 * and its offset in the compressed stream (a failed checksum included); a thread that dies
 * destroys it with an Error naming the thread. Throws ConfigError("zstd.workers") synchronously
 * for an invalid `workers`.
 */
export function createParallelZstdDecompressor(options: ParallelDecompressionOptions = {}): Transform {
  const workers = options.workers ?? defaultDecompressionWorkers();
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new ConfigError("zstd.workers", `must be an integer from 1 to 64, got ${String(workers)}`);
  }
  const maxInFlight = workers * FRAMES_PER_WORKER;
  const inputSize = compressedBound(MAX_THREADED_FRAME);
  const splitter = createZstdFrameSplitter();

  interface Slot extends FrameSlot {
    readonly index: number;
    readonly view: Buffer;
  }
  /** A frame sent to a thread; `out` is set once it is decoded. */
  interface Job {
    readonly frame: ZstdFrameInfo;
    readonly seq: number;
    readonly slot: Slot;
    readonly length: number;
    out?: Buffer;
  }
  /** The frame being read: into a slot for a thread, or through a streaming decoder. */
  type Current = { readonly frame: ZstdFrameInfo; slot: Slot; filled: number } | { readonly frame: ZstdFrameInfo; readonly decoder: StreamingFrame };

  const threads: Worker[] = [];
  /** Frames sent to threads and not yet emitted, in stream order. */
  const inFlight: Job[] = [];
  let slots: Slot[] = [];
  const spare: Slot[] = [];
  let current: Current | null = null;
  // The stream's first frame, kept back until a second one shows the threads are worth starting.
  let held: Job | null = null;
  let sent = 0;
  let failure: Error | null = null;
  let ending = false;
  /** Emits "step" whenever a frame is emitted or the stream fails: what a waiting writer waits for. */
  const progress = new EventEmitter();

  const damaged = (frame: ZstdFrameInfo, why: string): IntegrityError => new IntegrityError(`zstd data is damaged: frame ${frame.index} at offset ${frame.offset}: ${why}`);

  /** Resolves at the next step of progress, at once after a failure. */
  const step = async (): Promise<void> => {
    if (!failure) await once(progress, "step");
  };

  const abandon = (err: Error): void => {
    if (!failure) stream.destroy(err);
  };

  const onResult = (result: FrameResult): void => {
    const job = inFlight.find((j) => j.seq === result.seq);
    if (!job || failure) return;
    if ("error" in result) return abandon(damaged(job.frame, result.error));
    // A copy: the slot takes the next frame at once.
    job.out = Buffer.from(new Uint8Array(job.slot.output, 0, result.length));
    spare.push(job.slot);
    while (inFlight[0]?.out) stream.push(inFlight.shift()!.out);
    progress.emit("step");
  };

  /** The thread for frame `seq`: frames go round the threads in turn (they are all about the same size), each started when first needed. */
  const threadFor = (seq: number): Worker => {
    const n = seq % workers;
    if (threads[n]) return threads[n];
    const workerData: FrameWorkerData = { slots: slots.map(({ input, output }) => ({ input, output })) };
    const thread = new Worker(WORKER_URL, { workerData, resourceLimits: WORKER_LIMITS });
    liveThreads += 1;
    thread.on("message", onResult);
    thread.on("error", (err: Error) => abandon(new Error(`zstd thread: ${err.message}`, { cause: err })));
    thread.on("exit", (code) => {
      liveThreads -= 1;
      if (!ending) abandon(new Error(`zstd thread exited with code ${code} before the stream ended`));
    });
    threads[n] = thread;
    return thread;
  };

  const send = (job: Job): void => {
    const message: FrameJob = { seq: job.seq, slot: job.slot.index, length: job.length, contentSize: job.frame.contentSize! };
    threadFor(job.seq).postMessage(message);
  };

  /** Waits until every frame read so far has been emitted: a streamed frame's output follows theirs directly. */
  const drain = async (): Promise<void> => {
    if (held) decodeHeld();
    while (inFlight.length > 0 && !failure) await step();
  };

  /** Decodes the held first frame on this thread: the stream has no second frame to overlap it with. */
  const decodeHeld = (): void => {
    const job = held!;
    held = null;
    let out: Buffer;
    try {
      out = zlib.zstdDecompressSync(job.slot.view.subarray(0, job.length), { maxOutputLength: Math.max(1, job.frame.contentSize!) });
    } catch (err) {
      throw damaged(job.frame, (err as Error).message);
    }
    if (out.length !== job.frame.contentSize) throw damaged(job.frame, `it decodes to ${out.length} bytes, its header declares ${job.frame.contentSize}`);
    spare.push(job.slot);
    stream.push(out);
  };

  /** A free slot for the next frame, once fewer than `maxInFlight` frames are decoding or waiting to be emitted. */
  const takeSlot = async (): Promise<Slot | null> => {
    while (inFlight.length >= maxInFlight && !failure) await step();
    if (failure) return null;
    if (slots.length === 0) {
      slots = Array.from({ length: maxInFlight }, (_, index) => {
        const input = new SharedArrayBuffer(inputSize);
        return { index, input, output: new SharedArrayBuffer(MAX_THREADED_FRAME), view: Buffer.from(input) };
      });
      spare.push(...slots);
    }
    const slot = spare.pop();
    if (!slot) throw new Error("zstd stream: no free frame slot");
    return slot;
  };

  /** Moves the current frame from its slot to a streaming decoder, with the bytes gathered so far. */
  const toStreaming = async (frame: ZstdFrameInfo, gathered: Buffer): Promise<void> => {
    await drain();
    const decoder = streamingFrame(frame, (out) => stream.push(out), damaged);
    current = { frame, decoder };
    if (gathered.length > 0) await decoder.write(gathered);
  };

  const onEvent = async (e: ZstdFrameEvent): Promise<void> => {
    switch (e.kind) {
      case "start": {
        if (held) {
          inFlight.push(held);
          send(held);
          held = null;
        }
        const size = e.frame.contentSize;
        if (size === undefined || size > MAX_THREADED_FRAME) return toStreaming(e.frame, Buffer.alloc(0));
        const slot = await takeSlot();
        if (slot) current = { frame: e.frame, slot, filled: 0 };
        return;
      }
      case "data": {
        const c = current!;
        if ("decoder" in c) return c.decoder.write(e.bytes);
        if (c.filled + e.bytes.length <= inputSize) {
          c.slot.view.set(e.bytes, c.filled);
          c.filled += e.bytes.length;
          return;
        }
        // More compressed bytes than any frame of this content size needs: let the streaming decoder judge them.
        const gathered = Buffer.from(c.slot.view.subarray(0, c.filled));
        spare.push(c.slot);
        await toStreaming(c.frame, gathered);
        return (current as Current & { decoder: StreamingFrame }).decoder.write(e.bytes);
      }
      case "end": {
        const c = current!;
        current = null;
        if ("decoder" in c) return c.decoder.end();
        const job: Job = { frame: c.frame, seq: sent, slot: c.slot, length: c.filled };
        sent += 1;
        if (job.seq === 0) held = job;
        else {
          inFlight.push(job);
          send(job);
        }
        return;
      }
    }
  };

  const write = async (chunk: Uint8Array): Promise<void> => {
    for (const e of splitter.push(chunk)) {
      if (failure) return;
      await onEvent(e);
    }
  };

  const stopThreads = (): Promise<unknown> => {
    ending = true;
    return Promise.all(threads.splice(0).map((t) => t.terminate().catch(() => undefined)));
  };

  /** Ends a Transform callback when `work` settles: with the stream's failure, if any. */
  const settle = (work: Promise<void>, callback: TransformCallback): void => {
    work.then(
      () => callback(failure ?? undefined),
      (err: unknown) => callback(err as Error),
    );
  };

  const stream = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      settle(write(chunk), callback);
    },
    flush(callback: TransformCallback): void {
      settle(
        (async () => {
          splitter.end();
          await drain();
          await stopThreads();
        })(),
        callback,
      );
    },
    destroy(err: Error | null, callback: (error: Error | null) => void): void {
      failure ??= err ?? new Error("zstd stream destroyed");
      void stopThreads();
      if (current && "decoder" in current) current.decoder.destroy();
      current = null;
      held = null;
      inFlight.length = 0;
      spare.length = 0;
      slots = [];
      progress.emit("step");
      callback(err);
    },
  });
  return stream;
}

/** One frame through node:zlib's streaming decoder. */
interface StreamingFrame {
  /** Resolves once `bytes` are decoded and their output handed on; rejects with an IntegrityError naming the frame. */
  write(bytes: Uint8Array): Promise<void>;
  /** Resolves once the frame is complete and all of its output handed on. */
  end(): Promise<void>;
  destroy(): void;
}

function streamingFrame(frame: ZstdFrameInfo, emit: (out: Buffer) => void, damaged: (frame: ZstdFrameInfo, why: string) => IntegrityError): StreamingFrame {
  const z = zlib.createZstdDecompress({ chunkSize: STREAM_CHUNK });
  z.on("data", emit);
  const failed = new Promise<never>((_, reject) => {
    z.once("error", (err) => reject(damaged(frame, err.message)));
  });
  // Observed through `write` and `end`; a frame abandoned by destroy() has no one waiting.
  failed.catch(() => undefined);
  return {
    write: (bytes) => Promise.race([failed, new Promise<void>((resolve) => z.write(bytes, () => resolve()))]),
    end: () =>
      Promise.race([
        failed,
        new Promise<void>((resolve) => {
          z.once("end", () => resolve());
          z.end();
        }),
      ]),
    destroy: () => z.destroy(),
  };
}
