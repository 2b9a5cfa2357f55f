/**
 * age decryption as a Node Transform.
 */
import { Transform } from "node:stream";
import { AuthError, IntegrityError } from "../../errors.js";
import type { Secret } from "../../secret.js";
import { createDearmor, type Dearmor } from "./armor.js";
import { createChunker } from "./chunker.js";
import { decodeB64 } from "./base64.js";
import { AGE_VERSION_LINE, findHeaderEnd, MAX_HEADER_BYTES, parseHeader, verifyHeaderMac, type ParsedHeader } from "./header.js";
import { MAX_WORK_FACTOR, scryptUnwrap } from "./scrypt.js";
import { createChunkCipher, ENCRYPTED_CHUNK_SIZE, payloadKey, PAYLOAD_NONCE_SIZE, TAG_SIZE, type ChunkCipher } from "./stream.js";
import { parseIdentity, x25519Unwrap, type X25519Identity } from "./x25519.js";

/**
 * Decrypt with age identities ("AGE-SECRET-KEY-1…", as parsed by `parseAgeIdentities`) or with a
 * passphrase. `source` names the input in error messages (a path or object key; never secret).
 */
export type AgeDecryptOptions = ({ identities: Secret[] } | { passphrase: Secret }) & { source?: string };

const VERSION_PREFIX = Buffer.from(`${AGE_VERSION_LINE}\n`);

/**
 * Returns a Transform that decrypts a binary age file written to it.
 *
 * Errors (emitted on the stream, never containing key or passphrase material):
 * - ConfigError("identity") synchronously, when a given identity is not AGE-SECRET-KEY-1….
 * - AuthError when no identity unwraps the file key, the passphrase is wrong, or the file was
 *   encrypted the other way (passphrase vs recipients). Nothing has been emitted then.
 * - IntegrityError when the input is not an age file, the header or its MAC is altered, any chunk
 *   fails authentication (flipped byte, swapped, duplicated or dropped chunk), the stream stops at
 *   a chunk boundary without its last chunk, or bytes follow the last chunk.
 *
 * Plaintext of a chunk is pushed only after that chunk's tag verified. The one thing a chunk
 * cannot prove on its own is that the stream goes on correctly after it: truncation and appended
 * junk are detected only at end of input, when the final chunk is opened. So the output is
 * trustworthy only once the stream ends without error — write it to a temporary name and commit
 * (rename) only after 'finish'/'end', and discard it on 'error'.
 */
export function createAgeDecryptStream(opts: AgeDecryptOptions): Transform {
  const context = opts.source ? `age decrypt ${opts.source}` : "age decrypt";
  const identities: X25519Identity[] = "identities" in opts ? opts.identities.map((id) => parseIdentity(id)) : [];
  const passphrase = "passphrase" in opts ? opts.passphrase : undefined;

  let headerParts: Buffer[] = [];
  let headerBytes = 0;
  let cipher: ChunkCipher | undefined;
  const chunker = createChunker(ENCRYPTED_CHUNK_SIZE);
  const integrity = (why: string): IntegrityError => new IntegrityError(`${context}: ${why}`);

  const openChunk = (t: Transform) => (chunk: Buffer, last: boolean) => {
    const index = cipher!.counter;
    if (chunk.length < TAG_SIZE) throw integrity(`truncated: chunk ${index} is shorter than its authentication tag`);
    if (last && chunk.length === TAG_SIZE && index > 0) throw integrity(`chunk ${index}: an empty last chunk is only valid for an empty payload`);
    const pt = cipher!.open(chunk, last);
    if (!pt) {
      throw integrity(
        last
          ? `chunk ${index} (final) failed authentication: the file was altered, truncated at a chunk boundary, or has bytes appended`
          : `chunk ${index} failed authentication: the file was altered, or chunks were reordered or duplicated`,
      );
    }
    t.push(pt);
  };

  const unwrap = async (header: ParsedHeader): Promise<Buffer> => {
    const scryptStanzas = header.stanzas.filter((s) => s.args[0] === "scrypt");
    if (scryptStanzas.length > 0 && header.stanzas.length > 1) throw integrity("malformed age header (a scrypt stanza must be the only stanza)");
    for (const s of header.stanzas) {
      if (s.args[0] === "X25519") {
        const share = s.args.length === 2 ? decodeB64(s.args[1]!) : undefined;
        if (!share || share.length !== 32 || s.body.length !== 32) throw integrity("malformed age header (invalid X25519 stanza)");
      }
    }
    if (passphrase) {
      const s = scryptStanzas[0];
      if (!s) throw new AuthError(`${context}: the file is encrypted to age recipients, not a passphrase; decrypt it with the identity file instead`);
      const salt = s.args.length === 3 ? decodeB64(s.args[1]!) : undefined;
      const wf = s.args[2] ?? "";
      if (!salt || salt.length !== 16 || !/^[1-9][0-9]?$/.test(wf) || s.body.length !== 32) throw integrity("malformed age header (invalid scrypt stanza)");
      if (Number(wf) > MAX_WORK_FACTOR) throw integrity(`scrypt work factor ${wf} exceeds the limit of ${MAX_WORK_FACTOR}`);
      const key = await scryptUnwrap(passphrase, salt, Number(wf), s.body);
      if (!key) throw new AuthError(`${context}: wrong passphrase (or the header was altered); check the passphrase file`);
      return key;
    }
    if (scryptStanzas.length > 0) throw new AuthError(`${context}: the file is passphrase-encrypted; decrypt it with the passphrase instead of an identity`);
    for (const s of header.stanzas) {
      if (s.args[0] !== "X25519") continue;
      const share = decodeB64(s.args[1]!)!;
      for (const id of identities) {
        const key = x25519Unwrap(id, share, s.body);
        if (key) return key;
      }
    }
    const n = header.stanzas.length;
    throw new AuthError(
      `${context}: none of the ${identities.length} given identities matches the file's ${n} recipient${n === 1 ? "" : "s"} (or the header was altered); check that --identity is the key this backup was encrypted to`,
    );
  };

  /** Consumes header bytes; returns the payload bytes after the nonce once the header is complete. */
  const readHeader = async (data: Buffer): Promise<Buffer | undefined> => {
    headerParts.push(data);
    headerBytes += data.length;
    const buf = headerParts.length === 1 ? data : Buffer.concat(headerParts);
    headerParts = [buf];
    const prefix = Math.min(buf.length, VERSION_PREFIX.length);
    if (!buf.subarray(0, prefix).equals(VERSION_PREFIX.subarray(0, prefix))) {
      throw integrity("not an age file (no age-encryption.org/v1 header)");
    }
    const end = findHeaderEnd(buf);
    if (end < 0 || buf.length < end + PAYLOAD_NONCE_SIZE) {
      if (headerBytes > MAX_HEADER_BYTES) throw integrity(`age header longer than ${MAX_HEADER_BYTES} bytes; the file is damaged or not an age file`);
      return undefined;
    }
    const header = parseHeader(buf.subarray(0, end), context);
    const fileKey = await unwrap(header);
    if (!verifyHeaderMac(fileKey, header)) throw integrity("age header MAC mismatch: the header was altered");
    cipher = createChunkCipher(payloadKey(fileKey, buf.subarray(end, end + PAYLOAD_NONCE_SIZE)));
    headerParts = [];
    return buf.subarray(end + PAYLOAD_NONCE_SIZE);
  };

  /** Decides once, from the first non-whitespace byte, whether the input is armored. */
  let dearmor: Dearmor | null | undefined;
  const unarmor = (data: Buffer): Buffer => {
    if (dearmor === undefined) {
      let i = 0;
      while (i < data.length && (data[i] === 0x20 || data[i] === 0x09 || data[i] === 0x0a || data[i] === 0x0d)) i++;
      // A binary age file starts with "age-"; armor starts with "-----BEGIN", possibly after whitespace.
      if (i === data.length && data.length > 0) dearmor = createDearmor(context);
      else if (i < data.length) dearmor = data[i] === 0x2d ? createDearmor(context) : null;
      else return data;
    }
    return dearmor ? dearmor.write(data) : data;
  };

  const feed = async (t: Transform, data: Buffer): Promise<void> => feedBinary(t, unarmor(data));
  const feedBinary = async (t: Transform, bin: Buffer): Promise<void> => {
    if (cipher) return chunker.write(bin, openChunk(t));
    const rest = await readHeader(bin);
    if (rest) chunker.write(rest, openChunk(t));
  };

  return new Transform({
    transform(data: Buffer, _enc, cb) {
      // The header stage is async (scrypt); the payload stage stays synchronous for speed.
      if (cipher && dearmor === null) {
        try {
          chunker.write(data, openChunk(this));
        } catch (err) {
          return cb(err as Error);
        }
        return cb();
      }
      feed(this, data).then(() => cb(), cb);
    },
    flush(cb) {
      Promise.resolve()
        .then(() => (dearmor ? feedBinary(this, dearmor.end()) : undefined))
        .then(() => {
          if (!cipher) throw integrity(headerBytes === 0 ? "empty input: not an age file" : "truncated inside the age header");
          chunker.end(openChunk(this));
        })
        .then(() => cb(), cb);
    },
  });
}
