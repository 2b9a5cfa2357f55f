/** Helpers for the crypto tests: run a Transform over bytes, find CLIs, scratch directories. */
import { spawnSync } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { Readable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

/** Whether an executable is on PATH. */
export function hasBinary(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

/** Feeds `input` in pieces of `piece` bytes (to exercise chunk boundaries) through `t`. */
export async function runTransform(t: Transform, input: Buffer, piece = 10_000): Promise<{ out: Buffer; err?: unknown }> {
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += piece) parts.push(input.subarray(i, i + piece));
  const out: Buffer[] = [];
  try {
    await pipeline(Readable.from(parts), t, async (source: AsyncIterable<Buffer>) => {
      for await (const c of source) out.push(c);
    });
    return { out: Buffer.concat(out) };
  } catch (err) {
    return { out: Buffer.concat(out), err };
  }
}

/** Like runTransform, but throws the stream's error. */
export async function transformAll(t: Transform, input: Buffer, piece?: number): Promise<Buffer> {
  const r = await runTransform(t, input, piece);
  if (r.err) throw r.err;
  return r.out;
}

/** Deterministic pseudo-random bytes (a ChaCha20 keystream keyed by the seed), so failures reproduce; not for keys. */
export function pseudoRandom(size: number, seed = 1): Buffer {
  const key = createHash("sha256").update(`cloudsync-test-${seed}`).digest();
  return createCipheriv("chacha20", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}
