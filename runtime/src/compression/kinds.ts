/**
 * The names of the compressions a backup can use: the one `Compression` type of cloudsync (the
 * config, the manifest, the pipeline and the decoders all use it). No code, so the configuration
 * can import it without loading a compressor.
 */

/** How a backup artifact's archive bytes are compressed before encryption. */
export type Compression = "gzip" | "zstd" | "none";

/** Every accepted value of `Compression`, for validating flags and config. */
export const COMPRESSIONS: readonly Compression[] = ["gzip", "zstd", "none"];

/** A compression and its level as a backup was (or is to be) made with; no level means the compressor's default. */
export interface CompressionChoice {
  readonly algorithm: Compression;
  readonly level?: number;
}
