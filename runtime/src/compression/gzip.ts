import { gzipSync } from "node:zlib";
import { ConfigError } from "../errors.js";
import { createParallelCompressor, parallelSettings, type ParallelCompressionOptions, type ParallelCompressor } from "./parallel.js";

/** Options of `createGzipStream`. */
export interface GzipStreamOptions extends ParallelCompressionOptions {
  /** zlib level 0–9. Default 1: compression is the pipeline's speed limit, and level 1 keeps most of the ratio. */
  readonly level?: number;
}

/**
 * zlib memLevel 9 (the maximum) instead of the default 8: a larger hash table finds matches with
 * fewer collisions. Measured on demo data at level 1: 10–15 % less CPU per MiB and a slightly
 * better ratio (3.115 vs 3.108), for 128 KiB more memory per block being compressed.
 */
export const GZIP_MEM_LEVEL = 9;

/**
 * A Transform that gzips its input on several threads at once (`createParallelCompressor`):
 * each block of `blockSize` bytes becomes one independent gzip member (RFC 1952 §2.2 allows a
 * file to be a series of members), emitted in input order. `gunzip`, Node's `zlib.createGunzip`
 * and `mongorestore --gzip` read the concatenation as one stream. Empty input yields one empty
 * member, as `gzip` does.
 *
 * Throws ConfigError synchronously for an invalid option ("gzip.level", "gzip.workers",
 * "gzip.blockSize"). A zlib failure destroys the stream with an Error naming the block.
 */
export function createGzipStream(options: GzipStreamOptions = {}): ParallelCompressor {
  const level = options.level ?? 1;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new ConfigError("gzip.level", `must be an integer from 0 to 9, got ${String(level)}`);
  }
  const settings = parallelSettings("gzip", options);
  return createParallelCompressor(
    {
      name: "gzip",
      engine: { algorithm: "gzip", level, memLevel: GZIP_MEM_LEVEL },
      compressSync: (input) => gzipSync(input, { level, memLevel: GZIP_MEM_LEVEL }),
    },
    settings,
  );
}
