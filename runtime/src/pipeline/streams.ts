import { createHash } from "node:crypto";
import { Readable, Transform } from "node:stream";
import { InternalError } from "../errors.js";

/** A pass-through that hashes (SHA-256) and counts what flows through it. */
export interface HashingStream extends Transform {
  /** Bytes seen so far. */
  readonly bytes: number;
  /** Hex SHA-256 of everything seen; valid once the stream has finished. */
  digest(): string;
}

/**
 * Creates a HashingStream; `onBytes`, when given, is called after every chunk with the running
 * total (the same count as `bytes`, for progress). Calling `digest()` before the stream ends throws.
 */
export function createHashingStream(onBytes?: (total: number) => void): HashingStream {
  const hash = createHash("sha256");
  let bytes = 0;
  let hex: string | undefined;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes?.(bytes);
      cb(null, chunk);
    },
    flush(cb) {
      hex = hash.digest("hex");
      cb();
    },
  }) as HashingStream;
  Object.defineProperty(t, "bytes", { get: () => bytes });
  t.digest = () => {
    if (hex === undefined) throw new InternalError("sha256 requested before the stream finished");
    return hex;
  };
  return t;
}

/** A pass-through that reports the size of every chunk to `onBytes`. */
export function createCountingStream(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
}

/**
 * Reads at least `n` bytes (fewer only if the stream is shorter) from the start of `source` and
 * returns them together with a Readable that yields the whole stream, those bytes included.
 * Lets a format be detected from its first bytes without buffering the rest.
 */
export async function peek(source: AsyncIterable<Uint8Array>, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let have = 0;
  let ended = false;
  while (have < n) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const b = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    chunks.push(b);
    have += b.length;
  }
  const head = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    }
  }
  const stream = Readable.from(all(), { objectMode: false });
  // Destroying the returned stream early (an abort, a failed stage) must release the source at
  // once: Readable.from waits for the generator to return, and the generator may be waiting on
  // a source with no data to give (stdin kept open). A stream's async iterator is itself a
  // generator, whose return() would queue behind that wait too, so a stream source is destroyed.
  const destroy = stream._destroy.bind(stream);
  stream._destroy = (err, cb) => {
    if (source instanceof Readable) source.destroy();
    else void it.return?.();
    destroy(err, cb);
  };
  return { head: head.subarray(0, Math.min(n, head.length)), stream };
}
