/**
 * Recognises the encryption envelope of an artifact from its first bytes, so `inspect` and
 * `restore` pick a decryptor from the data itself rather than from a name or a manifest.
 */

const AGE_BINARY = Buffer.from("age-encryption.org/v1\n");
const AGE_ARMOR = "-----BEGIN AGE ENCRYPTED FILE-----";
const PGP_ARMOR = "-----BEGIN PGP MESSAGE-----";

/** Encryption envelopes cloudsync can read. */
export type Envelope = "age" | "age-armor" | "openpgp" | "none";

/**
 * Classifies `first` (the first bytes of an artifact; 64 are plenty, fewer work when the data is
 * shorter). "age": the binary age header line. "age-armor": the age PEM armor, after optional
 * whitespace. "openpgp": ASCII-armored "PGP MESSAGE", or a binary OpenPGP message starting with
 * a public-key (tag 1) or symmetric-key (tag 3) encrypted session key packet of a known version.
 * "none" otherwise — a plain or compressed archive (mongodump archives start 0x6d, gzip 0x1f,
 * zstd 0x28, none of which is an OpenPGP packet header). Never throws.
 */
export function detectEnvelope(first: Uint8Array): Envelope {
  const buf = Buffer.from(first.buffer, first.byteOffset, first.byteLength);
  const n = Math.min(buf.length, AGE_BINARY.length);
  if (n >= 4 && buf.subarray(0, n).equals(AGE_BINARY.subarray(0, n))) return "age";
  const text = buf.toString("latin1").trimStart();
  if (text.length >= 16 && AGE_ARMOR.startsWith(text.slice(0, AGE_ARMOR.length))) return "age-armor";
  if (text.length >= 16 && PGP_ARMOR.startsWith(text.slice(0, PGP_ARMOR.length))) return "openpgp";
  return isOpenPgpSessionKeyPacket(buf) ? "openpgp" : "none";
}

/** RFC 9580 §4.2: packet header, then the packet's version byte. */
function isOpenPgpSessionKeyPacket(buf: Buffer): boolean {
  const b = buf[0];
  if (b === undefined || (b & 0x80) === 0) return false;
  let tag: number;
  let headerLen: number;
  if (b & 0x40) {
    tag = b & 0x3f;
    const l = buf[1];
    if (l === undefined) return false;
    headerLen = l < 192 ? 2 : l < 224 ? 3 : l === 255 ? 6 : 2;
  } else {
    tag = (b >> 2) & 0x0f;
    headerLen = [2, 3, 5, 1][b & 3]!;
  }
  const version = buf[headerLen];
  if (tag === 1) return version === 3 || version === 6;
  if (tag === 3) return version === 4 || version === 5 || version === 6;
  return false;
}
