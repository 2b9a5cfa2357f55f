/**
 * age's ASCII armor (C2SP age spec, "ASCII armor"): the binary file as padded standard base64
 * in 64-column lines between "-----BEGIN AGE ENCRYPTED FILE-----" and "-----END AGE ENCRYPTED
 * FILE-----". Decoded incrementally, line by line, so an armored file streams in constant memory.
 * Leading and trailing whitespace and CRLF line ends are accepted, as `age -d` accepts them;
 * everything else is strict (full lines before the last, canonical base64, nothing after END).
 */
import { IntegrityError } from "../../errors.js";

/** The armor's first line. */
export const ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----";
const ARMOR_END = "-----END AGE ENCRYPTED FILE-----";
const LINE = /^[A-Za-z0-9+/]*={0,2}$/;
/** A line longer than this cannot be armor; bounds what we buffer while looking for "\n". */
const MAX_LINE = 1024;

/** Incremental armor decoder for one stream. */
export interface Dearmor {
  /** Decodes what `text` completes; returns the binary bytes (possibly empty). Throws IntegrityError. */
  write(text: Buffer): Buffer;
  /** Finishes; throws IntegrityError unless the END line was seen. */
  end(): Buffer;
}

/** Creates a decoder; `context` prefixes error messages ("age decrypt backups/x"). */
export function createDearmor(context: string): Dearmor {
  let carry = "";
  let state: "begin" | "body" | "done" = "begin";
  let sawShort = false;
  const fail = (why: string): never => {
    throw new IntegrityError(`${context}: malformed age armor (${why})`);
  };
  const line = (raw: string, out: Buffer[]): void => {
    const l = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (state === "begin") {
      if (l.trim() === "") return;
      if (l.trim() !== ARMOR_BEGIN) fail("missing BEGIN line");
      state = "body";
    } else if (state === "body") {
      if (l === ARMOR_END) {
        state = "done";
        return;
      }
      if (sawShort) fail("data after the last base64 line");
      if (l.length > 64) fail("line longer than 64 columns");
      if (l.length < 64 || l.includes("=")) sawShort = true;
      if (!LINE.test(l) || l.length % 4 !== 0) fail("invalid base64 line");
      const bytes = Buffer.from(l, "base64");
      if (bytes.toString("base64") !== l) fail("non-canonical base64");
      out.push(bytes);
    } else if (l.trim() !== "") {
      fail("data after the END line");
    }
  };
  const process = (text: string, final: boolean): Buffer => {
    const out: Buffer[] = [];
    const lines = (carry + text).split("\n");
    carry = final ? "" : lines.pop()!;
    // At the end, an empty remainder is just the newline that ended the last line.
    if (final && lines[lines.length - 1] === "") lines.pop();
    if (carry.length > MAX_LINE) fail("line too long");
    for (const l of lines) line(l, out);
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  };
  return {
    write: (text) => process(text.toString("latin1"), false),
    end() {
      const out = process("", true);
      if (state !== "done") fail("missing END line; the file is truncated");
      return out;
    },
  };
}
