/**
 * age's payload STREAM (C2SP age spec, "Payload"): the payload key is HKDF-SHA-256(file key,
 * salt = 16-byte nonce, "payload"); the plaintext is cut into 64 KiB chunks, each sealed with
 * ChaCha20-Poly1305 under the nonce 11-byte big-endian chunk counter ‖ last-chunk flag. The
 * flag is what makes truncation at a chunk boundary detectable; the counter is what makes
 * reordered or duplicated chunks fail.
 */
import { createCipheriv, createDecipheriv, hkdfSync } from "node:crypto";
import { InternalError } from "../../errors.js";

/** Plaintext bytes per chunk; only the last chunk may be shorter. */
export const CHUNK_SIZE = 64 * 1024;
/** Poly1305 tag bytes appended to every chunk. */
export const TAG_SIZE = 16;
/** Ciphertext bytes of a full chunk. */
export const ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;
/** Bytes of the random nonce between the header and the first chunk. */
export const PAYLOAD_NONCE_SIZE = 16;

/** Derives the payload key from the file key and the payload nonce. */
export function payloadKey(fileKey: Buffer, nonce: Buffer): Buffer {
  return Buffer.from(hkdfSync("sha256", fileKey, nonce, "payload", 32));
}

/**
 * Per-stream chunk sealing state: the counter advances with every chunk, and nothing may
 * follow a chunk sealed as last. One reusable nonce buffer, since node:crypto copies the IV.
 */
export interface ChunkCipher {
  /** Seals one chunk; returns [ciphertext, tag] so the caller can push both without a copy. */
  seal(plaintext: Buffer, last: boolean): [Buffer, Buffer];
  /**
   * Opens one chunk (ciphertext ‖ tag). Returns the plaintext only after its tag verified;
   * undefined when it does not authenticate (tampered, reordered, wrong flag).
   */
  open(chunk: Buffer, last: boolean): Buffer | undefined;
  /** Index of the next chunk (0-based). */
  readonly counter: number;
}

/** Creates the chunk cipher for one payload. */
export function createChunkCipher(key: Buffer): ChunkCipher {
  const nonce = Buffer.alloc(12);
  let counter = 0;
  let finished = false;
  const next = (last: boolean): Buffer => {
    if (finished) throw new InternalError("age STREAM: chunk after the last chunk");
    // 6 counter bytes (2^48 chunks = 16 EiB) are plenty; the upper 5 of the 11 stay zero.
    nonce.writeUIntBE(counter, 5, 6);
    nonce[11] = last ? 1 : 0;
    counter++;
    if (last) finished = true;
    return nonce;
  };
  return {
    get counter() {
      return counter;
    },
    seal(plaintext, last) {
      const c = createCipheriv("chacha20-poly1305", key, next(last), { authTagLength: TAG_SIZE });
      const ct = c.update(plaintext);
      c.final();
      return [ct, c.getAuthTag()];
    },
    open(chunk, last) {
      const d = createDecipheriv("chacha20-poly1305", key, next(last), { authTagLength: TAG_SIZE });
      d.setAuthTag(chunk.subarray(chunk.length - TAG_SIZE));
      const pt = d.update(chunk.subarray(0, chunk.length - TAG_SIZE));
      try {
        d.final();
      } catch {
        return undefined;
      }
      return pt;
    },
  };
}
