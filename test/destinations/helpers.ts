// Small helpers shared by the destination tests.
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { Destination, ObjectInfo } from "../../runtime/src/destinations/destination.js";

/** Collects a listing. */
export async function listAll(dest: Destination, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of dest.list(prefix)) out.push(info);
  return out;
}

/** Yields `data` in `chunk`-byte pieces, then fails with `error` if given, else waits for `hang` forever. */
export async function* pieces(data: Buffer, chunk: number, end: { error?: Error; hang?: boolean } = {}): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += chunk) {
    yield data.subarray(i, i + chunk);
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (end.error) throw end.error;
  if (end.hang) await new Promise(() => undefined);
}

export const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** Resolves when the child prints `marker` on a line of its own. */
export async function waitForLine(stream: Readable, marker: string): Promise<void> {
  let seen = "";
  for await (const chunk of stream) {
    seen += String(chunk);
    if (seen.split("\n").includes(marker)) return;
  }
  throw new Error(`child exited before printing ${marker}; got ${JSON.stringify(seen)}`);
}
