/**
 * The zstd frame splitter (zstd-frames.ts) and the threaded decoder built on it
 * (parallel-decompress.ts): our own frames, frames written by the real `zstd` CLI (one frame with
 * its size from a file, without it from a pipe, `-T0`, `--no-check`), concatenations, skippable
 * frames, truncated and corrupt input, and that every thread stops.
 */
import { execFileSync } from "node:child_process";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { createDecompressor } from "../../runtime/src/compression/index.js";
import { activeDecompressionThreads, createParallelZstdDecompressor, MAX_THREADED_FRAME } from "../../runtime/src/compression/parallel-decompress.js";
import { createZstdFrameSplitter, type ZstdFrameInfo } from "../../runtime/src/compression/zstd-frames.js";
import { createZstdStream } from "../../runtime/src/compression/zstd.js";
import { IntegrityError } from "../../runtime/src/errors.js";
import { sample, throughUneven } from "./blocks.js";

const BLOCK = 64 * 1024;

/** Our own multi-frame output: one frame of `BLOCK` bytes per block. */
function ours(input: Buffer): Promise<Buffer> {
  return throughUneven(input, createZstdStream({ blockSize: BLOCK, workers: 2 }));
}

/** The real zstd CLI; `args` such as ["-T0"], ["--no-check"]; its input from a pipe unless `fromFile`. */
function cli(input: Buffer, args: string[] = []): Buffer {
  return execFileSync("zstd", ["-c", "-q", ...args], { input, maxBuffer: 1 << 28 });
}

/** Frames found by feeding `z` to the splitter in chunks of `step` bytes: each frame's info and bytes. */
function split(z: Buffer, step: number): { frame: ZstdFrameInfo; bytes: Buffer }[] {
  const splitter = createZstdFrameSplitter();
  const found: { frame: ZstdFrameInfo; bytes: Buffer }[] = [];
  let parts: Uint8Array[] = [];
  for (let off = 0; off < z.length; off += step) {
    for (const e of splitter.push(z.subarray(off, off + step))) {
      if (e.kind === "start") parts = [];
      else if (e.kind === "data") parts.push(e.bytes);
      else {
        const bytes = Buffer.concat(parts);
        expect(bytes.length).toBe(e.length);
        found.push({ frame: e.frame, bytes });
      }
    }
  }
  splitter.end();
  return found;
}

function decodeWith(z: Buffer, workers = 2): Promise<Buffer> {
  return throughUneven(z, createParallelZstdDecompressor({ workers }));
}

describe("createZstdFrameSplitter", () => {
  it("finds each of our frames with its content size, whatever the chunk size", async () => {
    const input = sample(5 * BLOCK + 1234, 3);
    const z = await ours(input);
    for (const step of [1, 3, 7, 1000, z.length]) {
      const frames = split(z, step);
      expect(frames.map((f) => f.frame.contentSize)).toEqual([BLOCK, BLOCK, BLOCK, BLOCK, BLOCK, 1234]);
      expect(frames.map((f) => f.frame.index)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(frames.every((f) => f.frame.checksum)).toBe(true);
      expect(Buffer.concat(frames.map((f) => f.bytes)).equals(z)).toBe(true);
      frames.forEach((f, i) => {
        expect(f.frame.offset).toBe(frames.slice(0, i).reduce((n, g) => n + g.bytes.length, 0));
        expect(zlib.zstdDecompressSync(f.bytes).equals(input.subarray(i * BLOCK, (i + 1) * BLOCK))).toBe(true);
      });
    }
  });

  it("reads what the zstd CLI writes: a file's size declared, a pipe's not, -T0 and --no-check", () => {
    const input = sample(3 * 1024 * 1024 + 5, 4);
    const file = split(execFileSync("sh", ["-c", "f=$(mktemp) && cat > \"$f\" && zstd -c -q \"$f\"; rm -f \"$f\""], { input, maxBuffer: 1 << 28 }), 4096);
    expect(file.map((f) => [f.frame.contentSize, f.frame.checksum])).toEqual([[input.length, true]]);
    const piped = split(cli(input), 4096);
    expect(piped.map((f) => [f.frame.contentSize, f.frame.checksum])).toEqual([[undefined, true]]);
    const threaded = split(cli(input, ["-T0", "--no-check"]), 4096);
    expect(threaded.length).toBeGreaterThanOrEqual(1);
    expect(threaded.every((f) => !f.frame.checksum)).toBe(true);
    expect(Buffer.concat(threaded.map((f) => zlib.zstdDecompressSync(f.bytes))).equals(input)).toBe(true);
  });

  it("passes over skippable frames and counts only zstd frames", () => {
    const a = zlib.zstdCompressSync(Buffer.from("first"), { pledgedSrcSize: 5 });
    const skippable = Buffer.concat([Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), Buffer.from("abc")]);
    const b = zlib.zstdCompressSync(Buffer.from("second"), { pledgedSrcSize: 6 });
    const frames = split(Buffer.concat([skippable, a, skippable, b]), 2);
    expect(frames.map((f) => [f.frame.index, f.frame.offset, f.frame.contentSize])).toEqual([
      [0, skippable.length, 5],
      [1, 2 * skippable.length + a.length, 6],
    ]);
  });

  it("rejects bytes that are no frame, a reserved block type and a stream cut inside a frame, naming the offset", async () => {
    const z = await ours(sample(2 * BLOCK, 5));
    const junk = Buffer.concat([z, Buffer.from("trailing junk")]);
    expect(() => split(junk, 100)).toThrow(new IntegrityError(`zstd data is damaged: no zstd frame at offset ${z.length} (bytes 74726169)`));
    const first = split(z, z.length)[0]!;
    // The splitter reports a frame's header as its first data: the first block header follows it.
    const headerLength = (createZstdFrameSplitter().push(z)[1] as { bytes: Uint8Array }).bytes.length;
    const reserved = Buffer.from(z);
    reserved[headerLength] = reserved[headerLength]! | 0x06;
    expect(() => split(reserved, 100)).toThrow(new IntegrityError(`zstd data is damaged: frame 0 at offset 0: block at offset ${headerLength} has the reserved type 3`));
    expect(() => split(z.subarray(0, first.bytes.length + 10), 100)).toThrow(
      new IntegrityError(`zstd data is damaged: truncated: the stream ends at offset ${first.bytes.length + 10}, inside frame 1 that starts at offset ${first.bytes.length}`),
    );
    expect(() => split(z.subarray(0, first.bytes.length + 5), 100)).toThrow(
      new IntegrityError(`zstd data is damaged: truncated: the stream ends at offset ${first.bytes.length + 5}, inside the frame header that starts at offset ${first.bytes.length}`),
    );
  });
});

describe("createParallelZstdDecompressor", () => {
  it("returns exactly what zstdDecompressSync does, in order, for our frames over 1, 2 and 3 threads", async () => {
    const input = sample(23 * BLOCK + 77, 6);
    const z = await ours(input);
    for (const workers of [1, 2, 3]) expect((await decodeWith(z, workers)).equals(zlib.zstdDecompressSync(z))).toBe(true);
    expect((await throughUneven(z, createDecompressor("zstd"))).equals(input)).toBe(true);
  });

  it("decodes the CLI's frames (streamed) between ours (threaded), and frames larger than MAX_THREADED_FRAME", async () => {
    const input = sample(6 * BLOCK, 7);
    const big = sample(MAX_THREADED_FRAME + 1, 8);
    const bigFrame = zlib.zstdCompressSync(big, { pledgedSrcSize: big.length });
    const z = Buffer.concat([await ours(input), cli(input), cli(input, ["-T0", "--no-check"]), bigFrame, await ours(input)]);
    expect((await decodeWith(z)).equals(Buffer.concat([input, input, input, big, input]))).toBe(true);
  });

  it("a single frame, and an empty one, decode without starting a thread", async () => {
    const counts: number[] = [];
    const t = createParallelZstdDecompressor({ workers: 2 });
    t.on("data", () => counts.push(activeDecompressionThreads()));
    const out = await throughUneven(zlib.zstdCompressSync(Buffer.from("just one frame"), { pledgedSrcSize: 14 }), t);
    expect(out.toString()).toBe("just one frame");
    expect(counts).toEqual([0]);
    expect((await decodeWith(zlib.zstdCompressSync(Buffer.alloc(0), { pledgedSrcSize: 0 }))).length).toBe(0);
  });

  it("a flipped byte fails with an IntegrityError naming the frame and its offset, and stops every thread", async () => {
    const z = await ours(sample(12 * BLOCK, 9));
    const frames = split(z, z.length);
    const bad = Buffer.from(z);
    const third = frames[2]!.frame.offset;
    bad[third + 40] = bad[third + 40]! ^ 0x5a;
    const err = await decodeWith(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toMatch(new RegExp(`^zstd data is damaged: frame 2 at offset ${third}: `));
    await vi.waitFor(() => expect(activeDecompressionThreads()).toBe(0), { timeout: 5000 });
  });

  it("a wrong checksum fails naming the frame", async () => {
    const z = await ours(sample(4 * BLOCK, 10));
    const frames = split(z, z.length);
    const bad = Buffer.from(z);
    const end = frames[1]!.frame.offset + frames[1]!.bytes.length;
    bad[end - 1] = bad[end - 1]! ^ 0xff;
    await expect(decodeWith(bad)).rejects.toThrow(new IntegrityError(`zstd data is damaged: frame 1 at offset ${frames[1]!.frame.offset}: Restored data doesn't match checksum`));
  });

  it("truncated input fails naming where it ends", async () => {
    const z = await ours(sample(4 * BLOCK, 11));
    await expect(decodeWith(z.subarray(0, z.length - 3))).rejects.toThrow(/^zstd data is damaged: truncated: the stream ends at offset \d+, inside frame 3 that starts at offset \d+$/);
  });

  it("destroyed mid-stream, it stops every thread at once", async () => {
    const z = await ours(sample(40 * BLOCK, 12));
    const t = createParallelZstdDecompressor({ workers: 2 });
    const errors: Error[] = [];
    t.on("error", (err) => errors.push(err));
    t.resume();
    t.write(z.subarray(0, z.length >> 1));
    await vi.waitFor(() => expect(activeDecompressionThreads()).toBeGreaterThan(0), { interval: 1 });
    t.destroy(new Error("cancelled"));
    await vi.waitFor(() => expect(activeDecompressionThreads()).toBe(0), { timeout: 5000 });
    await vi.waitFor(() => expect(errors.map((e) => e.message)).toEqual(["cancelled"]));
  });

  it("an error downstream stops every thread", async () => {
    const z = await ours(sample(40 * BLOCK, 13));
    const boom = new Error("sink broke");
    let seen = 0;
    const sink = new Writable({
      write(_c, _e, cb) {
        seen += 1;
        cb(seen === 3 ? boom : null);
      },
    });
    await expect(pipeline([z.subarray(0, 100_000), z.subarray(100_000)], createParallelZstdDecompressor({ workers: 2 }), sink)).rejects.toBe(boom);
    await vi.waitFor(() => expect(activeDecompressionThreads()).toBe(0), { timeout: 5000 });
  });
});
