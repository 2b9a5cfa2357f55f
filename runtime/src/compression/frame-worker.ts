/**
 * The decompression thread of `createParallelZstdDecompressor` (parallel-decompress.ts): a worker
 * thread that turns one whole zstd frame into its content, one synchronous call per frame, from
 * and into buffers it shares with the stream.
 *
 * Like block-worker.ts it runs as its own module in a worker thread, so it imports nothing but
 * Node's built-ins and holds only erasable TypeScript. It decodes through the native handle of one
 * reused `ZstdDecompress` (the call node:zlib's own synchronous path makes), straight into the
 * shared output, so nothing is allocated per frame; `zstdDecompressSync` would allocate a context
 * and output buffers for every frame.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as zlib from "node:zlib";

/** One frame's buffers, shared by the stream and every one of its threads. */
export interface FrameSlot {
  /** Room for one frame's compressed bytes. */
  readonly input: SharedArrayBuffer;
  /** Room for its content. */
  readonly output: SharedArrayBuffer;
}

/** `workerData` of a decompression thread: its slots, handed over once (a SharedArrayBuffer per message costs more than the work). */
export interface FrameWorkerData {
  readonly slots: readonly FrameSlot[];
}

/** One frame to decode: `length` bytes at the start of slot `slot`'s input, whose header declares `contentSize`. */
export interface FrameJob {
  readonly seq: number;
  readonly slot: number;
  readonly length: number;
  readonly contentSize: number;
}

/** The answer to a FrameJob: the content's length at the start of the slot's output, or why it failed. */
export type FrameResult = { readonly seq: number; readonly length: number } | { readonly seq: number; readonly error: string };

interface Decoder {
  readonly stream: zlib.ZstdDecompress;
  readonly handle: {
    writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
    reset(): void;
  };
  /** [output bytes left, input bytes left] after the last writeSync. */
  readonly state: Uint32Array;
}

function createDecoder(): Decoder {
  const stream = zlib.createZstdDecompress();
  // A failure is read synchronously from `errored` below; the stream then also emits it.
  stream.on("error", () => undefined);
  const { _handle: handle, _writeState: state } = stream as unknown as { _handle?: Partial<Decoder["handle"]>; _writeState?: unknown };
  if (typeof handle?.writeSync !== "function" || typeof handle.reset !== "function" || !(state instanceof Uint32Array)) {
    throw new Error(`Node ${process.version}'s zlib offers no synchronous handle to decompress with; use Node 24 LTS`);
  }
  return { stream, handle: handle as Decoder["handle"], state };
}

function decodeFrame(slots: readonly FrameSlot[], reused: { decoder?: Decoder }, job: FrameJob): number {
  const slot = slots[job.slot];
  if (!slot) throw new Error(`no slot ${job.slot}`);
  const decoder = reused.decoder ?? createDecoder();
  reused.decoder = undefined;
  const out = new Uint8Array(slot.output);
  decoder.handle.writeSync(zlib.constants.ZSTD_e_end, new Uint8Array(slot.input, 0, job.length), 0, job.length, out, 0, out.length);
  // zstd reports corrupt data (a bad checksum, a bad block) by destroying the stream; its decoder is not reused.
  if (decoder.stream.errored) throw decoder.stream.errored;
  const produced = out.length - (decoder.state[0] ?? 0);
  const inputLeft = decoder.state[1] ?? 0;
  decoder.handle.reset();
  reused.decoder = decoder;
  if (inputLeft !== 0) throw new Error(`${inputLeft} of its ${job.length} bytes were left undecoded after ${produced} bytes of content (its header declares ${job.contentSize})`);
  if (produced !== job.contentSize) throw new Error(`it decodes to ${produced} bytes, its header declares ${job.contentSize}`);
  return produced;
}

/** The answer to `job`: what decodeFrame made of it, or its failure as a message (an Error does not cross threads whole). */
function answer(slots: readonly FrameSlot[], reused: { decoder?: Decoder }, job: FrameJob): FrameResult {
  try {
    return { seq: job.seq, length: decodeFrame(slots, reused, job) };
  } catch (err) {
    return { seq: job.seq, error: err instanceof Error ? err.message : String(err) };
  }
}

// The thread's message loop: one FrameResult for every FrameJob, in the order received.
const port = parentPort;
if (port) {
  const { slots } = workerData as FrameWorkerData;
  const reused: { decoder?: Decoder } = {};
  port.on("message", (job: FrameJob) => port.postMessage(answer(slots, reused, job)));
}
