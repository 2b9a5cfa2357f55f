import { Readable } from "node:stream";

/**
 * Reads a put body as Buffers, stopping with `signal.reason` as soon as the signal aborts, even
 * while the source is blocked waiting for data. A Readable source is destroyed on abort or when
 * the consumer stops early, so its producer sees the failure too.
 */
export async function* bodyChunks(body: Readable | AsyncIterable<Uint8Array>, signal?: AbortSignal): AsyncGenerator<Buffer> {
  signal?.throwIfAborted();
  const iterator = body[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  // One promise for the whole iteration: a listener per chunk would pile up on long streams.
  const aborted = new Promise<never>((_, reject) => {
    if (!signal) return;
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  let finished = false;
  try {
    while (true) {
      const next = await (signal ? Promise.race([iterator.next(), aborted]) : iterator.next());
      if (next.done) {
        finished = true;
        return;
      }
      const chunk: unknown = next.value;
      if (typeof chunk === "string") yield Buffer.from(chunk, "utf8");
      else if (chunk instanceof Uint8Array) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      else throw new TypeError("put body must yield Uint8Array chunks");
    }
  } finally {
    if (onAbort) signal?.removeEventListener("abort", onAbort);
    if (!finished) {
      if (body instanceof Readable) body.destroy(signal?.aborted ? (signal.reason as Error) : undefined);
      else void iterator.return?.()?.catch(() => undefined);
    }
  }
}
