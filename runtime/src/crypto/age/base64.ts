/**
 * The header's base64: standard alphabet, no padding, and canonical (the unused low bits of
 * the last character must be zero), as the age spec requires so that a header has exactly
 * one encoding and the MAC covers the only possible spelling of each value.
 */

const ALPHABET = /^[A-Za-z0-9+/]*$/;

/** Encodes without padding. */
export function encodeB64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64").replace(/=+$/, "");
}

/** Decodes strictly; undefined when the text is not canonical unpadded base64. */
export function decodeB64(text: string): Buffer | undefined {
  if (!ALPHABET.test(text) || text.length % 4 === 1) return undefined;
  const out = Buffer.from(text, "base64");
  return encodeB64(out) === text ? out : undefined;
}
