import { Readable } from "node:stream";
import { detectCompression, createDecompressor } from "../compression/index.js";
import { detectEnvelope } from "../crypto/detect.js";
import { createDecryptor, type DecryptionKeys } from "./encryption.js";
import { peek } from "./streams.js";

/** What `decodeArtifact` found in front of the archive. */
export interface ArtifactLayers {
  readonly envelope: "age" | "age-armor" | "openpgp" | "none";
  readonly compression: "gzip" | "zstd" | "none";
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
  const stream = compression === "none" ? inner.stream : chain(inner.stream, createDecompressor(compression));
  return { stream, compression };
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
