import type { Transform } from "node:stream";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

/** Compressible but not trivial: random words so the compressor does real work and blocks differ. */
export function sample(size: number, seed = 1): Buffer {
  const words = ["mongo", "backup", "archive", "cloud", "sync", "model", "event", "licence", "{", "}", ":", "\n"];
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; ) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const w = (x >>> 0) % 16 < 12 ? (words[(x >>> 0) % words.length] as string) : String.fromCharCode(33 + ((x >>> 8) % 90));
    i += out.write(w, i, "latin1");
  }
  return out;
}

/** Feeds `input` through `transform` in uneven chunks, so block boundaries fall inside writes, and returns the output. */
export async function throughUneven(input: Buffer, transform: Transform): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sizes = [1, 7000, 65_535, 100_000, 3];
  async function* source(): AsyncGenerator<Buffer> {
    for (let off = 0, i = 0; off < input.length; i += 1) {
      const n = sizes[i % sizes.length] as number;
      yield input.subarray(off, off + n);
      off += n;
    }
  }
  await pipeline(
    source(),
    transform,
    new Writable({
      write(chunk: Buffer, _e, cb) {
        chunks.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(chunks);
}
