import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { gunzipSync, gzipSync, inflateRawSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createGzipStream, GZIP_MEM_LEVEL, type GzipStreamOptions } from "../../runtime/src/compression/gzip.js";
import { activeCompressionJobs, defaultCompressionWorkers } from "../../runtime/src/compression/parallel.js";
import { ConfigError } from "../../runtime/src/errors.js";
import { sample, throughUneven } from "./blocks.js";

const run = promisify(execFile);
const BLOCK = 64 * 1024;

/** Gzips `input` with the parallel stream, fed in uneven chunks. */
function gzip(input: Buffer, options: GzipStreamOptions = {}): Promise<Buffer> {
  return throughUneven(input, createGzipStream({ blockSize: BLOCK, workers: 2, ...options }));
}

/** Offsets of every gzip member header (1f 8b 08) that starts a member, found by walking the members. */

/**
 * Splits a gzip file into its members (Node writes a fixed 10-byte header without FNAME) and
 * returns each member's decompressed length as its trailer (ISIZE) states it.
 */
function memberSizes(gz: Buffer): number[] {
  const sizes: number[] = [];
  let rest = gz;
  while (rest.length > 0) {
    expect([rest[0], rest[1], rest[2], rest[3]]).toEqual([0x1f, 0x8b, 8, 0]);
    const { buffer, engine } = inflateRawSync(rest.subarray(10), { info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    const trailer = rest.subarray(10 + engine.bytesWritten, 18 + engine.bytesWritten);
    expect(trailer.readUInt32LE(4)).toBe(buffer.length);
    sizes.push(buffer.length);
    rest = rest.subarray(18 + engine.bytesWritten);
  }
  return sizes;
}

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cloudsync-gzip-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function realGunzip(gz: Buffer): Promise<Buffer> {
  const file = join(dir, `in-${Math.random().toString(36).slice(2)}.gz`);
  await writeFile(file, gz);
  const { stdout } = await run("gunzip", ["-c", file], { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

describe("createGzipStream", () => {
  it.each([0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK, 5 * 1024 * 1024 + 17])(
    "%i bytes decompress byte-exact with gunzip and node zlib",
    async (size) => {
      const input = sample(size, size + 1);
      const gz = await gzip(input);
      expect((await realGunzip(gz)).equals(input)).toBe(true);
      expect(gunzipSync(gz).equals(input)).toBe(true);
    },
  );
});

describe("createGzipStream members and levels", () => {
  it("writes one member per block, each the same bytes zlib.gzipSync gives that block (same memLevel)", async () => {
    const input = sample(3 * BLOCK + 5, 42);
    const gz = await gzip(input);
    expect(memberSizes(gz)).toEqual([BLOCK, BLOCK, BLOCK, 5]);
    const expected = [0, 1, 2, 3].map((i) => gzipSync(input.subarray(i * BLOCK, (i + 1) * BLOCK), { level: 1, memLevel: GZIP_MEM_LEVEL }));
    expect(gz.equals(Buffer.concat(expected))).toBe(true);
  });

  it("honours level 0: stored blocks, larger than the input, decompressing byte-exact", async () => {
    for (const size of [BLOCK / 2, 2 * BLOCK + 3]) {
      const input = sample(size, 3);
      const gz = await gzip(input, { level: 0 });
      expect(gz.length).toBeGreaterThan(size);
      expect(gunzipSync(gz).equals(input)).toBe(true);
    }
  });

  // zlib's bytes at level ≥ 1 do not depend on its output buffer size, so they must equal gzipSync's exactly.
  it.each([1, 6, 9])("honours level %i on thread-pool and in-thread paths", async (level) => {
    for (const size of [BLOCK / 2, 2 * BLOCK + 3]) {
      const input = sample(size, level + 7);
      const gz = await gzip(input, { level });
      const blocks = Math.max(1, Math.ceil(size / BLOCK));
      const expected = Array.from({ length: blocks }, (_, i) =>
        gzipSync(input.subarray(i * BLOCK, (i + 1) * BLOCK), { level, memLevel: GZIP_MEM_LEVEL }),
      );
      expect(gz.equals(Buffer.concat(expected))).toBe(true);
    }
  });

  it("empty input gives exactly the member gzip writes for nothing", async () => {
    const gz = await gzip(Buffer.alloc(0));
    expect(gz.equals(gzipSync(Buffer.alloc(0), { level: 1, memLevel: GZIP_MEM_LEVEL }))).toBe(true);
    expect(gz.length).toBe(20);
  });

  it("rejects invalid options with a ConfigError naming the option", () => {
    expect(() => createGzipStream({ level: 10 })).toThrow(new ConfigError("gzip.level", "must be an integer from 0 to 9, got 10"));
    expect(() => createGzipStream({ workers: 0 })).toThrow(new ConfigError("gzip.workers", "must be an integer from 1 to 64, got 0"));
    expect(() => createGzipStream({ blockSize: 1000 })).toThrow(
      new ConfigError("gzip.blockSize", "must be an integer from 65536 to 67108864, got 1000"),
    );
    expect(() => createGzipStream({ level: 1.5 })).toThrow(ConfigError);
  });
});

describe("createGzipStream errors, back-pressure and threads", () => {
  it("propagates a source error and stops compressing", async () => {
    const boom = new Error("source broke");
    async function* source(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 6; i += 1) yield sample(BLOCK, i);
      throw boom;
    }
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    await expect(pipeline(source(), createGzipStream({ blockSize: BLOCK, workers: 2 }), sink)).rejects.toBe(boom);
    await vi.waitFor(() => expect(activeCompressionJobs()).toBe(0), { timeout: 5000 });
  });

  it("stops compressing when destroyed mid-stream", async () => {
    const gz = createGzipStream({ blockSize: BLOCK, workers: 2 });
    const errors: Error[] = [];
    gz.on("error", (err) => errors.push(err));
    gz.resume();
    for (let i = 0; i < 4; i += 1) gz.write(sample(BLOCK, i));
    await vi.waitFor(() => expect(activeCompressionJobs()).toBeGreaterThan(0), { interval: 1 });
    gz.destroy(new Error("cancelled"));
    await vi.waitFor(() => expect(activeCompressionJobs()).toBe(0), { timeout: 5000 });
    expect(gz.destroyed).toBe(true);
    await vi.waitFor(() => expect(errors.map((e) => e.message)).toEqual(["cancelled"]));
  });

  it("stops compressing after a normal end", async () => {
    await gzip(sample(4 * BLOCK, 3));
    await vi.waitFor(() => expect(activeCompressionJobs()).toBe(0), { timeout: 5000 });
  });

  it.each([1, 2])("never compresses more than workers=%i blocks at once", async (workers) => {
    let peak = 0;
    const input = sample(12 * BLOCK, workers);
    const gz = createGzipStream({ blockSize: BLOCK, workers });
    const chunks: Buffer[] = [];
    gz.on("data", (c: Buffer) => {
      chunks.push(c);
      peak = Math.max(peak, activeCompressionJobs());
    });
    const done = new Promise((resolve) => gz.on("end", resolve));
    for (let off = 0; off < input.length; off += 10_000) {
      if (!gz.write(input.subarray(off, off + 10_000))) await new Promise((r) => gz.once("drain", r));
      peak = Math.max(peak, activeCompressionJobs());
    }
    gz.end();
    await done;
    expect(peak).toBeGreaterThanOrEqual(1);
    expect(peak).toBeLessThanOrEqual(workers);
    expect(gunzipSync(Buffer.concat(chunks)).equals(input)).toBe(true);
  });

  it("stops pulling from the source while nobody reads its output", async () => {
    let pulled = 0;
    const source = Readable.from(
      (function* () {
        const chunk = sample(16 * 1024, 5);
        for (let i = 0; i < 4096; i += 1) {
          pulled += chunk.length;
          yield chunk;
        }
      })(),
    );
    const gz = createGzipStream({ blockSize: BLOCK, workers: 2 });
    source.pipe(gz);
    await new Promise((r) => setTimeout(r, 1500));
    // 4 blocks in flight, one being filled, the readable and writable buffers: well under 2 MiB of 64 MiB offered.
    expect(pulled).toBeLessThan(2 * 1024 * 1024);
    expect(pulled).toBeGreaterThan(4 * BLOCK);
    source.destroy();
    gz.destroy();
    await vi.waitFor(() => expect(activeCompressionJobs()).toBe(0), { timeout: 5000 });
  });
});

describe("defaultCompressionWorkers", () => {
  it("uses every CPU, whatever libuv's pool size: the threads are worker threads, not pool threads", () => {
    const saved = process.env.UV_THREADPOOL_SIZE;
    try {
      process.env.UV_THREADPOOL_SIZE = "1";
      expect(defaultCompressionWorkers()).toBe(Math.min(availableParallelism(), 64));
      delete process.env.UV_THREADPOOL_SIZE;
      expect(defaultCompressionWorkers()).toBe(Math.min(availableParallelism(), 64));
    } finally {
      if (saved === undefined) delete process.env.UV_THREADPOOL_SIZE;
      else process.env.UV_THREADPOOL_SIZE = saved;
    }
  });
});
