import type { Readable } from "node:stream";
import type { Destination, PutOptions } from "./destination.js";

/**
 * Wraps a destination so `onBytes(key, total)` is called as each put's body is read (after
 * every chunk, with the running total). Everything else passes through unchanged, errors included.
 */
export function withProgress(dest: Destination, onBytes: (key: string, total: number) => void): Destination {
  return {
    ...bind(dest),
    put(key: string, body: Readable | AsyncIterable<Uint8Array>, options?: PutOptions) {
      return dest.put(key, counted(key, body, onBytes), options);
    },
  };
}

/**
 * Wraps a destination so each operation reports one line to `log` when it ends: what, which key,
 * how long, and the error class on failure (never the message, which may quote remote text).
 */
export function withLogging(dest: Destination, log: (line: string) => void): Destination {
  const timed = async <T>(what: string, key: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const took = () => `${Math.round(performance.now() - started)} ms`;
    try {
      const out = await run();
      log(`${what} ${dest.url} ${key}: ok in ${took()}`);
      return out;
    } catch (err) {
      log(`${what} ${dest.url} ${key}: ${(err as Error)?.name ?? "error"} after ${took()}`);
      throw err;
    }
  };
  return {
    url: dest.url,
    put: (key, body, options) => timed("put", key, () => dest.put(key, body, options)),
    get: (key) => timed("get", key, () => dest.get(key)),
    head: (key) => timed("head", key, () => dest.head(key)),
    delete: (key) => timed("delete", key, () => dest.delete(key)),
    list: (prefix) => dest.list(prefix),
    ...(dest.temporaryFiles ? { temporaryFiles: dest.temporaryFiles } : {}),
  };
}

function bind(dest: Destination): Destination {
  return {
    url: dest.url,
    put: dest.put.bind(dest),
    get: dest.get.bind(dest),
    head: dest.head.bind(dest),
    list: dest.list.bind(dest),
    delete: dest.delete.bind(dest),
    // Prune finds a killed write's leftovers through this; a wrapper must not hide them.
    ...(dest.temporaryFiles ? { temporaryFiles: dest.temporaryFiles } : {}),
  };
}

async function* counted(key: string, body: Readable | AsyncIterable<Uint8Array>, onBytes: (key: string, total: number) => void): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    onBytes(key, total);
    yield chunk;
  }
}
