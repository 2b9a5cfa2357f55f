import { PassThrough, type Transform } from "node:stream";
import * as zlib from "node:zlib";
import { ConfigError } from "../errors.js";
import { createGzipStream, type GzipStreamOptions } from "./gzip.js";
import type { Compression } from "./kinds.js";

export { activeGzipJobs, createGzipStream, defaultGzipWorkers, DEFAULT_GZIP_BLOCK_SIZE, GZIP_MEM_LEVEL, type GzipStreamOptions } from "./gzip.js";

export { COMPRESSIONS, type Compression, type CompressionChoice } from "./kinds.js";

/** Options of `createCompressor`; `level` applies to gzip (0–9) and zstd (1–22). */
export type CompressorOptions = GzipStreamOptions;

/**
 * Returns a fresh Transform compressing with `kind`: "gzip" is the parallel multi-member gzip
 * of `createGzipStream` (default level 1), "none" a pass-through, "zstd" one zstd frame from
 * node:zlib with its content checksum (in every supported Node, 22.15+; zstd's own default level 3
 * unless `level`).
 *
 * Throws ConfigError("compress", …) when `kind` is not a known compression; ConfigError for an
 * invalid gzip option.
 */
export function createCompressor(kind: Compression, options: CompressorOptions = {}): Transform {
  switch (kind) {
    case "gzip":
      return createGzipStream(options);
    case "none":
      return new PassThrough();
    case "zstd":
      // The frame checksum (XXH64) makes a damaged frame fail to decompress, as gzip's CRC-32 does;
      // without it a flipped byte in a raw block decodes silently (test/codecs).
      return zlib.createZstdCompress({ params: { [zlib.constants.ZSTD_c_checksumFlag]: 1, ...(options.level === undefined ? {} : { [zlib.constants.ZSTD_c_compressionLevel]: options.level }) } });
    default:
      throw unknownCompression(kind);
  }
}

/**
 * Returns a fresh Transform undoing `kind`. gzip input may be any number of concatenated
 * members (zlib's gunzip reads them all), zstd any number of frames; corrupt input fails the
 * stream with zlib's error. Throws ConfigError("compress", …) for an unknown `kind`.
 */
export function createDecompressor(kind: Compression): Transform {
  switch (kind) {
    case "gzip":
      return zlib.createGunzip();
    case "none":
      return new PassThrough();
    case "zstd":
      return zlib.createZstdDecompress();
    default:
      throw unknownCompression(kind);
  }
}

/**
 * Identifies compressed data from its first bytes: gzip's magic 1f 8b (RFC 1952), zstd's frame
 * magic 28 b5 2f fd (RFC 8878), otherwise "none". Needs at least 4 bytes to recognise zstd;
 * shorter input that matches no magic is "none".
 */
export function detectCompression(first: Uint8Array): Compression {
  if (first[0] === 0x1f && first[1] === 0x8b) return "gzip";
  if (first[0] === 0x28 && first[1] === 0xb5 && first[2] === 0x2f && first[3] === 0xfd) return "zstd";
  return "none";
}

function unknownCompression(kind: unknown): ConfigError {
  return new ConfigError("compress", `unknown compression ${JSON.stringify(kind)}; use gzip, zstd or none`);
}
