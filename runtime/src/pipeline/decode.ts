import { PassThrough, Readable, type Transform } from "node:stream";
import { detectCompression, createDecompressor, type Compression } from "../compression/index.js";
import { detectEnvelope } from "../crypto/detect.js";
import { CloudsyncError, IntegrityError } from "../errors.js";
import { createDecryptor, type DecryptionKeys } from "./encryption.js";
import { peek } from "./streams.js";

/** What `decodeArtifact` found in front of the archive. */
export interface ArtifactLayers {
  readonly envelope: "age" | "age-armor" | "openpgp" | "none";
  readonly compression: Compression;
}

/**
 * Peels encryption and compression off a stored artifact, detecting each layer from its first
 * bytes (not from names or manifests, so a bare file from anywhere can be read). Resolves to a
 * Readable of the plain archive bytes. Decryption errors (AuthError, IntegrityError) surface on
 * that stream; callers must treat its output as unconfirmed until it ends without error.
 */
export async function decodeArtifact(input: AsyncIterable<Uint8Array>, keys: DecryptionKeys): Promise<{ stream: Readable; layers: ArtifactLayers }> {
  const outer = await peek(input, 64);
  const envelope = detectEnvelope(outer.head);
  let plain: Readable = outer.stream;
  if (envelope !== "none") {
    const decryptor = createDecryptor(envelope, keys);
    plain = chain(outer.stream, decryptor);
  }
  const { stream, compression } = await decompressDetected(plain);
  return { stream, layers: { envelope, compression } };
}

/**
 * Peels compression alone off `input`, detected from its first bytes (gzip, zstd, or none: passed
 * through untouched). Decompression errors surface on the returned stream.
 */
export async function decompressDetected(input: AsyncIterable<Uint8Array>): Promise<{ stream: Readable; compression: ArtifactLayers["compression"] }> {
  const inner = await peek(input, 4);
  const compression = detectCompression(inner.head);
  const stream = compression === "none" ? inner.stream : decompressing(inner.stream, createDecompressor(compression), compression);
  return { stream, compression };
}

/**
 * Pipes `from` through `decompressor`. zlib's own errors (Z_BUF_ERROR for a truncated stream,
 * Z_DATA_ERROR, ZSTD_error_…) mean damaged input and come out as IntegrityError (exit 4) naming the
 * layer; errors from upstream (a decryptor's AuthError, a read failure) come out as they are.
 */
function decompressing(from: Readable, decompressor: Transform, compression: string): Readable {
  const out = new PassThrough();
  from.on("error", (err) => out.destroy(err));
  decompressor.on("error", (err: NodeJS.ErrnoException) => {
    const damaged = !(err instanceof CloudsyncError) && /^(Z_|ZSTD_)/.test(err.code ?? "");
    out.destroy(damaged ? new IntegrityError(`${compression} data is damaged or truncated: ${err.message}`, { cause: err }) : err);
  });
  out.on("close", () => {
    if (!decompressor.destroyed) decompressor.destroy();
    if (!from.destroyed) from.destroy();
  });
  from.pipe(decompressor).pipe(out);
  return out;
}

/** Pipes `from` into `to`, forwarding errors from either side to the returned stream. */
function chain(from: Readable, to: NodeJS.ReadWriteStream & Readable): Readable {
  from.on("error", (err) => to.destroy(err));
  to.on("close", () => {
    if (!from.destroyed) from.destroy();
  });
  from.pipe(to);
  return to;
}
