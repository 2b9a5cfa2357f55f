/**
 * The compression thread of `createParallelCompressor` (parallel.ts): a worker thread that turns
 * whole blocks into whole gzip members or zstd frames, one synchronous call per block.
 *
 * It runs as its own module in a worker thread. Under the tests Node loads it from TypeScript by
 * stripping the types, so it holds only erasable TypeScript, and its one project import (the
 * CRC-64, which imports only its WebAssembly kernel) names the `.ts` file, as that module's own
 * import does; tsc rewrites both to `.js` when it builds (rewriteRelativeImportExtensions).
 *
 * Why the zlib handle, not `gzipSync` / `zstdCompressSync`: those allocate a fresh compressor and
 * fresh output buffers for every call. In a worker thread that garbage is external memory, which
 * V8 collects only after tens of MiB of it; measured with two workers on 1 GiB of demo data, the
 * process peaked at 220–228 MiB RSS that way, against 83 MiB writing through the handle of one
 * reused compressor straight into the caller's shared output buffer (and 20 % faster for zstd).
 * `handle.writeSync` is the call node:zlib's own synchronous path makes; `worker()` checks that it
 * exists and fails with a clear message on a Node without it.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as zlib from "node:zlib";
import { crc64Ranges } from "../archive/crc64.ts";

/** What a compression thread produces, fixed for its life. */
export type BlockEngine = { readonly algorithm: "gzip"; readonly level: number; readonly memLevel: number } | { readonly algorithm: "zstd"; readonly level: number };

/** A block's buffers, shared by the stream and every one of its threads. */
export interface BlockSlot {
  /** Room for one block of input. */
  readonly input: SharedArrayBuffer;
  /** Room for its compressed form, incompressible input included. */
  readonly output: SharedArrayBuffer;
}

/**
 * `workerData` of a compression thread. The slots are handed over once, here: a SharedArrayBuffer
 * in every message would cost more than compressing (measured: 1.2 s of the main thread's time
 * per GiB in postMessage).
 */
export interface BlockWorkerData {
  readonly engine: BlockEngine;
  /** Size of a full block; a zstd frame of a full block declares this content size. */
  readonly blockSize: number;
  readonly slots: readonly BlockSlot[];
}

/**
 * One block to compress: `length` bytes at the start of slot `slot`'s input, compressed into its
 * output; and the CRC-64/XZ of each `[start, end)` pair of `ranges` within it, when given.
 */
export interface BlockJob {
  readonly seq: number;
  readonly slot: number;
  readonly length: number;
  readonly ranges?: readonly number[];
}

/** The answer to a BlockJob: the compressed length at the start of `output` and the ranges' CRCs, or why it failed. */
export type BlockResult = { readonly seq: number; readonly length: number; readonly crcs?: bigint[] } | { readonly seq: number; readonly error: string };

/** The two internals of a node:zlib stream that its synchronous path uses. */
interface NativeHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
}

interface Engine {
  readonly stream: zlib.Gzip | zlib.ZstdCompress;
  readonly handle: NativeHandle;
  /** [output bytes left, input bytes left] after the last writeSync. */
  readonly state: Uint32Array;
  used: boolean;
}

function createEngine(engine: BlockEngine, length: number): Engine {
  const stream =
    engine.algorithm === "zstd"
      ? zlib.createZstdCompress({
          params: { [zlib.constants.ZSTD_c_compressionLevel]: engine.level, [zlib.constants.ZSTD_c_checksumFlag]: 1 },
          pledgedSrcSize: length,
        })
      : zlib.createGzip({ level: engine.level, memLevel: engine.memLevel });
  const internals = stream as unknown as { _handle?: Partial<NativeHandle>; _writeState?: unknown };
  const handle = internals._handle;
  const state = internals._writeState;
  if (typeof handle?.writeSync !== "function" || typeof handle.reset !== "function" || !(state instanceof Uint32Array)) {
    throw new Error(`Node ${process.version}'s zlib offers no synchronous handle to compress with; use Node 24 LTS`);
  }
  return { stream, handle: handle as NativeHandle, state, used: false };
}

function compressBlock(data: BlockWorkerData, full: { engine?: Engine }, job: BlockJob, slot: BlockSlot): number {
  // Full blocks share one compressor, reset between blocks; a short last block gets its own,
  // since a zstd frame declares its content size.
  const reusable = job.length === data.blockSize;
  const engine = reusable ? (full.engine ??= createEngine(data.engine, job.length)) : createEngine(data.engine, job.length);
  try {
    if (engine.used) engine.handle.reset();
    engine.used = true;
    const out = new Uint8Array(slot.output);
    const flush = data.engine.algorithm === "zstd" ? zlib.constants.ZSTD_e_end : zlib.constants.Z_FINISH;
    engine.handle.writeSync(flush, new Uint8Array(slot.input, 0, job.length), 0, job.length, out, 0, out.length);
    // zlib reports a failure through the stream, synchronously, by destroying it.
    if (engine.stream.errored) throw engine.stream.errored;
    const outLeft = engine.state[0] ?? 0;
    const inLeft = engine.state[1] ?? 0;
    // A finished member or frame leaves room in the output; a full output may hold an unfinished one.
    if (inLeft !== 0 || outLeft === 0) throw new Error(`the compressed block did not fit in ${out.length} bytes`);
    return out.length - outLeft;
  } catch (err) {
    if (reusable) full.engine = undefined;
    throw err;
  } finally {
    if (!reusable || full.engine !== engine) engine.stream.close();
  }
}

/** The thread's message loop: one BlockResult for every BlockJob, in the order received. */
function worker(): void {
  const port = parentPort;
  if (!port) throw new Error("block-worker runs only as a worker thread");
  const data = workerData as BlockWorkerData;
  const full: { engine?: Engine } = {};
  port.on("message", (job: BlockJob) => {
    let result: BlockResult;
    try {
      const slot = data.slots[job.slot];
      if (!slot) throw new Error(`no slot ${job.slot}`);
      const length = compressBlock(data, full, job, slot);
      result = job.ranges ? { seq: job.seq, length, crcs: crc64Ranges(new Uint8Array(slot.input, 0, job.length), job.ranges) } : { seq: job.seq, length };
    } catch (err) {
      result = { seq: job.seq, error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(result);
  });
}

if (parentPort) worker();
