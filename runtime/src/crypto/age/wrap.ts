/**
 * Stanza body encryption shared by the X25519 and scrypt recipient types: ChaCha20-Poly1305
 * with an all-zero nonce (safe because every wrap key is used exactly once) over the 16-byte
 * file key, giving a 32-byte body.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";

const ZERO_NONCE = Buffer.alloc(12);

/** Wraps a 16-byte file key under a 32-byte wrap key: ciphertext ‖ tag, 32 bytes. */
export function sealKey(wrapKey: Buffer, fileKey: Buffer): Buffer {
  const c = createCipheriv("chacha20-poly1305", wrapKey, ZERO_NONCE, { authTagLength: 16 });
  const ct = Buffer.concat([c.update(fileKey), c.final()]);
  return Buffer.concat([ct, c.getAuthTag()]);
}

/** Unwraps a 32-byte stanza body; undefined when it does not authenticate under `wrapKey`. */
export function openKey(wrapKey: Buffer, body: Buffer): Buffer | undefined {
  if (body.length !== 32) return undefined;
  const d = createDecipheriv("chacha20-poly1305", wrapKey, ZERO_NONCE, { authTagLength: 16 });
  d.setAuthTag(body.subarray(16));
  const pt = d.update(body.subarray(0, 16));
  try {
    d.final();
  } catch {
    return undefined;
  }
  return pt;
}
