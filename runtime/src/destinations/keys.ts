import { ConfigError } from "../errors.js";

/** Longest key S3 accepts, in UTF-8 bytes; local keys are held to the same limit so both behave alike. */
export const MAX_KEY_BYTES = 1024;

/**
 * A name the local destination uses for its temporary files: `.<base>.tmp-<random>`. Keys whose
 * last segment has this shape are refused, so a stored object can never be mistaken for (and
 * hidden as) an unfinished write.
 */
export const TEMP_NAME = /^\..*\.tmp-[0-9a-f]+$/;

/**
 * Checks an object key against the Destination contract: relative, '/'-separated, no empty,
 * '.' or '..' segments, no NUL, at most 1024 UTF-8 bytes, not a temporary-file name.
 * Returns the key unchanged; throws ConfigError("key", …) naming the problem.
 */
export function validateKey(key: string): string {
  const problem = keyProblem(key, false);
  if (problem) throw new ConfigError("key", `${JSON.stringify(key)} ${problem}; keys are relative paths like "backups/2026-01-01.age"`);
  return key;
}

/**
 * Checks a `list` prefix: like a key, but it may be empty and may end in '/' (a prefix is
 * matched as a plain string, so "a/b" matches "a/b/c" and "a/bc"). Throws ConfigError("prefix", …).
 */
export function validatePrefix(prefix: string): string {
  if (prefix === "") return prefix;
  const problem = keyProblem(prefix.endsWith("/") ? prefix.slice(0, -1) : prefix, true);
  if (problem) throw new ConfigError("prefix", `${JSON.stringify(prefix)} ${problem}`);
  return prefix;
}

function keyProblem(key: string, isPrefix: boolean): string | undefined {
  if (typeof key !== "string" || key === "") return "is empty";
  if (key.startsWith("/")) return "starts with '/'";
  if (key.includes("\0")) return "contains a NUL byte";
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  const segments = key.split("/");
  for (const [i, segment] of segments.entries()) {
    if (segment === "") return "has an empty segment ('//' or a trailing '/')";
    // A prefix's last segment is a partial name: "a/." may be the start of "a/.hidden".
    const partial = isPrefix && i === segments.length - 1;
    if (segment === ".." && !partial) return "has a '..' segment";
    if (segment === "." && !partial) return "has a '.' segment";
  }
  if (!isPrefix && TEMP_NAME.test(segments[segments.length - 1] ?? "")) return "looks like a temporary file name";
  return undefined;
}

/** Orders keys the way S3 lists them: by their UTF-8 bytes, which differs from JS string order for astral characters. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
