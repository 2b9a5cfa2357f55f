import { Readable } from "node:stream";

/**
 * Reads a put body as Buffers, stopping with `signal.reason` as soon as the signal aborts, even
 * while the source is blocked waiting for data. A Readable source is destroyed on abort or when
 * the consumer stops early, so its producer sees the failure too.
 */
export async function* bodyChunks(body: Readable | AsyncIterable<Uint8Array>, signal?: AbortSignal): AsyncGenerator<Buffer> {
  signal?.throwIfAborted();
  const iterator = body[Symbol.asyncIterator]();
  // The wait for the next chunk in progress, rejected by an abort. A fresh promise per chunk,
  // settled and dropped once the chunk arrives: racing each next() against one long-lived abort
  // promise would attach a reaction to it per chunk, and each reaction keeps its chunk alive until
  // the stream ends (memory growing with the size of the upload).
  let rejectWait: ((reason: unknown) => void) | undefined;
  const onAbort = (): void => rejectWait?.(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const nextChunk = (): Promise<IteratorResult<unknown>> => {
    if (!signal) return iterator.next();
    // An abort while the consumer held the previous chunk found no wait to reject.
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<IteratorResult<unknown>>((resolve, reject) => {
      rejectWait = reject;
      iterator.next().then(resolve, reject);
    }).finally(() => {
      rejectWait = undefined;
    });
  };
  let finished = false;
  try {
    while (true) {
      const next = await nextChunk();
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
    signal?.removeEventListener("abort", onAbort);
    if (!finished) {
      if (body instanceof Readable) body.destroy(signal?.aborted ? (signal.reason as Error) : undefined);
      else void iterator.return?.()?.catch(() => undefined);
    }
  }
}
