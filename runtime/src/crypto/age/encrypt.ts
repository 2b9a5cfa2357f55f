/**
 * age encryption as a Node Transform: header, payload nonce, then the STREAM chunks.
 */
import { randomBytes } from "node:crypto";
import { Transform } from "node:stream";
import { ConfigError } from "../../errors.js";
import type { Secret } from "../../secret.js";
import { createChunker } from "./chunker.js";
import { encodeHeader, type Stanza } from "./header.js";
import { checkWorkFactor, DEFAULT_WORK_FACTOR, scryptStanza } from "./scrypt.js";
import { CHUNK_SIZE, createChunkCipher, payloadKey, PAYLOAD_NONCE_SIZE, type ChunkCipher } from "./stream.js";
import { parseRecipient, x25519Stanza } from "./x25519.js";

/** Encrypt to X25519 recipients ("age1…"), or with a passphrase (scrypt; work factor 1…22, default 18). */
export type AgeEncryptOptions = { recipients: string[] } | { passphrase: Secret; workFactor?: number };

/**
 * Returns a Transform that age-encrypts what is written to it, in the binary format `age -d`
 * reads. Memory stays at one 64 KiB chunk whatever the input size; back-pressure is the
 * Transform's own.
 *
 * Throws ConfigError synchronously, before any byte flows: field "recipient" quoting a
 * recipient that is not "age1…" (or a low-order key), "recipients" when the list is empty,
 * "passphrase" when it is empty, "workFactor" outside 1…22.
 *
 * The passphrase mode spends about 256 MiB and a second of CPU in scrypt (work factor 18) once,
 * before the first output byte; the memory is released before the payload streams.
 */
/** What each stream's header waits for (a passphrase's scrypt), by stream: see `encryptorReady`. */
const READY = new WeakMap<Transform, Promise<unknown>>();

/**
 * Resolves once `stream` (from createAgeEncryptStream) has what its header needs: at once for
 * recipients, after scrypt for a passphrase; rejects with scrypt's error. Any other stream is ready.
 * Lets a caller finish scrypt's 256 MiB before it allocates its own buffers.
 */
export async function encryptorReady(stream: Transform): Promise<void> {
  await READY.get(stream);
}

export function createAgeEncryptStream(opts: AgeEncryptOptions): Transform {
  const fileKey = randomBytes(16);
  let stanzas: Promise<Stanza[]>;
  if ("recipients" in opts) {
    if (opts.recipients.length === 0) throw new ConfigError("recipients", "at least one age recipient (age1…) is required");
    const raws = opts.recipients.map((r) => parseRecipient(r));
    stanzas = Promise.resolve(raws.map((raw, i) => x25519Stanza(fileKey, raw, opts.recipients[i]!)));
  } else {
    if (opts.passphrase.reveal().length === 0) throw new ConfigError("passphrase", "is empty; use a long random passphrase");
    const workFactor = checkWorkFactor(opts.workFactor ?? DEFAULT_WORK_FACTOR);
    stanzas = scryptStanza(fileKey, opts.passphrase, workFactor).then((s) => [s]);
  }
  // Keeps an unhandled rejection from surfacing before the first write awaits it.
  stanzas.catch(() => undefined);

  let cipher: ChunkCipher | undefined;
  const chunker = createChunker(CHUNK_SIZE);
  const start = async (t: Transform): Promise<ChunkCipher> => {
    if (cipher) return cipher;
    const nonce = randomBytes(PAYLOAD_NONCE_SIZE);
    t.push(encodeHeader(fileKey, await stanzas));
    t.push(nonce);
    cipher = createChunkCipher(payloadKey(fileKey, nonce));
    return cipher;
  };

  const sealInto = (t: Transform, c: ChunkCipher) => (chunk: Buffer, last: boolean) => {
    const [ct, tag] = c.seal(chunk, last);
    t.push(ct);
    t.push(tag);
  };

  const stream = new Transform({
    transform(data: Buffer, _enc, cb) {
      if (!cipher) return void start(this).then((c) => chunker.write(data, sealInto(this, c))).then(() => cb(), cb);
      chunker.write(data, sealInto(this, cipher));
      cb();
    },
    flush(cb) {
      start(this)
        .then((c) => chunker.end(sealInto(this, c)))
        .then(() => cb(), cb);
    },
  });
  READY.set(stream, stanzas);
  return stream;
}
