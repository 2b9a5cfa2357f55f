/**
 * The age header (C2SP age spec, "Header"): the version line, one stanza per recipient, and an
 * HMAC-SHA-256 over everything up to and including "---", keyed by HKDF(file key, "header").
 * Parsing is strict — line lengths, canonical base64, argument characters — because a header
 * that can be spelled two ways is a header whose MAC does not bind what the reader acts on.
 */
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { IntegrityError } from "../../errors.js";
import { decodeB64, encodeB64 } from "./base64.js";

/** The first line of every binary age file. */
export const AGE_VERSION_LINE = "age-encryption.org/v1";

/**
 * Upper bound on a header we are willing to buffer. Real headers are a few hundred bytes per
 * recipient; the bound keeps a stream that is not age from being buffered without limit.
 */
export const MAX_HEADER_BYTES = 1024 * 1024;

/** One recipient stanza: `args[0]` is its type ("X25519", "scrypt", …). */
export interface Stanza {
  readonly args: readonly string[];
  readonly body: Buffer;
}

/** A parsed header. `macInput` is the exact bytes the MAC covers. */
export interface ParsedHeader {
  readonly stanzas: readonly Stanza[];
  readonly mac: Buffer;
  readonly macInput: Buffer;
}

const MAC_LINE_START = Buffer.from("\n--- ");

function headerMac(fileKey: Buffer, macInput: Buffer): Buffer {
  const key = Buffer.from(hkdfSync("sha256", fileKey, Buffer.alloc(0), "header", 32));
  return createHmac("sha256", key).update(macInput).digest();
}

/** Serialises a header for `fileKey` and its stanzas, MAC included, ending with "\n". */
export function encodeHeader(fileKey: Buffer, stanzas: readonly Stanza[]): Buffer {
  let text = `${AGE_VERSION_LINE}\n`;
  for (const s of stanzas) {
    text += `-> ${s.args.join(" ")}\n`;
    const b64 = encodeB64(s.body);
    // Every body ends with a line shorter than 64 columns, empty if need be (spec).
    for (let i = 0; i <= b64.length; i += 64) text += `${b64.slice(i, i + 64)}\n`;
  }
  text += "---";
  const macInput = Buffer.from(text, "latin1");
  return Buffer.concat([macInput, Buffer.from(` ${encodeB64(headerMac(fileKey, macInput))}\n`, "latin1")]);
}

/**
 * Where the header ends in `buf` (the index just past the MAC line's newline), or -1 when more
 * bytes are needed. The MAC line is the only line that starts with "--- ": stanza lines start
 * with "-> " and base64 has no "-".
 */
export function findHeaderEnd(buf: Buffer): number {
  const mac = buf.indexOf(MAC_LINE_START);
  if (mac < 0) return -1;
  const nl = buf.indexOf(0x0a, mac + MAC_LINE_START.length);
  return nl < 0 ? -1 : nl + 1;
}

function isArgument(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/**
 * Parses a complete header (`buf` is exactly the bytes `findHeaderEnd` delimited). Throws
 * IntegrityError prefixed with `context` when it is malformed.
 */
export function parseHeader(buf: Buffer, context: string): ParsedHeader {
  const fail = (why: string): never => {
    throw new IntegrityError(`${context}: malformed age header (${why}); the file is damaged or not an age file`);
  };
  const lines = buf.toString("latin1").split("\n");
  // The trailing "\n" of the MAC line leaves one empty element.
  if (lines.pop() !== "") fail("missing final newline");
  if (lines[0] !== AGE_VERSION_LINE) fail("unknown version line");
  const stanzas: Stanza[] = [];
  let i = 1;
  while (i < lines.length - 1) {
    const line = lines[i]!;
    if (!line.startsWith("-> ")) fail(`line ${i + 1} is not a stanza`);
    const args = line.slice(3).split(" ");
    if (!args.every(isArgument)) fail(`line ${i + 1} has an invalid stanza argument`);
    i++;
    let body = "";
    while (true) {
      const bl = lines[i];
      if (bl === undefined || i >= lines.length - 1) fail("stanza body does not end with a short line");
      if (bl!.length > 64) fail(`line ${i + 1} is longer than 64 columns`);
      body += bl;
      i++;
      if (bl!.length < 64) break;
    }
    const decoded = decodeB64(body);
    if (!decoded) fail("stanza body is not canonical base64");
    stanzas.push({ args, body: decoded! });
  }
  const macLine = lines[lines.length - 1]!;
  if (!macLine.startsWith("--- ")) fail("missing MAC line");
  const mac = decodeB64(macLine.slice(4));
  if (!mac || mac.length !== 32) fail("MAC is not 32 bytes of canonical base64");
  if (stanzas.length === 0) fail("no recipient stanzas");
  const macInputLength = buf.length - (macLine.length - 3) - 1;
  return { stanzas, mac: mac!, macInput: buf.subarray(0, macInputLength) };
}

/** True when the header's MAC verifies under `fileKey` (constant-time comparison). */
export function verifyHeaderMac(fileKey: Buffer, header: ParsedHeader): boolean {
  return timingSafeEqual(headerMac(fileKey, header.macInput), header.mac);
}
