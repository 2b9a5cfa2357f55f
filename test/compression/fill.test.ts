// ParallelCompressor.fill: the compressor reading a file straight into its blocks (the backup's
// path for an uncompressed archive file), and openArchiveSource handing such a file over.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { gunzipSync, gzipSync, zstdDecompressSync } from "node:zlib";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createGzipStream, createZstdStream, type BlockSource, type ParallelCompressor } from "../../runtime/src/compression/index.js";
import { createCrc64 } from "../../runtime/src/archive/crc64.js";
import { createDeferredCrcs } from "../../runtime/src/archive/crc64-deferred.js";
import { activeCompressionJobs } from "../../runtime/src/compression/parallel.js";
import { fileChunks, isArchiveFile, openArchiveSource } from "../../runtime/src/pipeline/archive-source.js";
import { sample } from "./blocks.js";

const BLOCK = 64 * 1024;
const work = mkdtempSync(join(tmpdir(), "cloudsync-fill-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A BlockSource over `data` that returns at most `step` bytes per read. */
function memorySource(data: Buffer, step = Number.MAX_SAFE_INTEGER): BlockSource & { reads: number } {
  let at = 0;
  const source = {
    reads: 0,
    readBlock(buffer: Buffer, offset: number, length: number): Promise<number> {
      source.reads += 1;
      const n = Math.min(length, step, data.length - at);
      data.copy(buffer, offset, at, at + n);
      at += n;
      return Promise.resolve(n);
    },
  };
  return source;
}

async function collect(stream: ParallelCompressor): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(stream, new Writable({ write: (chunk: Buffer, _e, cb) => (out.push(chunk), cb()) }));
  return Buffer.concat(out);
}

describe("ParallelCompressor.fill", () => {
  it.each([
    ["gzip", () => createGzipStream({ blockSize: BLOCK, workers: 2 }), gunzipSync],
    ["zstd", () => createZstdStream({ blockSize: BLOCK, workers: 2 }), zstdDecompressSync],
  ] as const)("%s: compresses the whole source and shows every byte to inspect, in order, before ending", async (_name, create, decompress) => {
    const input = sample(5 * BLOCK + 1234, 7);
    const c = create();
    const seen: Buffer[] = [];
    void c.fill(memorySource(input, 10_000), (bytes) => seen.push(Buffer.from(bytes)));
    const out = await collect(c);
    expect(decompress(out).equals(input)).toBe(true);
    expect(Buffer.concat(seen).equals(input)).toBe(true);
    await vi.waitFor(() => expect(activeCompressionJobs()).toBe(0), { timeout: 5000 });
  });

  it.each([
    ["several blocks, on the threads", 5 * BLOCK + 77],
    ["less than one block, on the calling thread", BLOCK - 5],
  ])("checksums the ranges each block's inspection recorded: %s", async (_name, size) => {
    const input = sample(size, 9);
    const crcs = createDeferredCrcs();
    const check = crcs.create();
    const c = createZstdStream({ blockSize: BLOCK, workers: 2 });
    // Every other 1000 bytes belong to the checksum, as a namespace's documents among headers would.
    const expected = createCrc64();
    let at = 0;
    void c.fill(
      memorySource(input, 3000),
      (bytes) => {
        for (let i = 0; i < bytes.length; i += 1000) {
          if (((at + i) / 1000) % 2 === 0) {
            const end = Math.min(i + 1000, bytes.length);
            check.update(bytes, i, end);
            expected.update(bytes, i, end);
          }
        }
        at += bytes.length;
      },
      crcs,
    );
    await collect(c);
    expect(check.digest()).toBe(expected.digest());
  });

  it("reads a source shorter than one block into a single member, starting no thread", async () => {
    const input = sample(BLOCK - 1, 3);
    const c = createGzipStream({ blockSize: BLOCK, workers: 2 });
    let peak = 0;
    void c.fill(memorySource(input), () => (peak = Math.max(peak, activeCompressionJobs())));
    const out = await collect(c);
    expect(out.equals(gzipSync(input, { level: 1, memLevel: 9 }))).toBe(true);
    expect(peak).toBe(0);
  });

  it("an empty source gives one empty frame", async () => {
    const c = createZstdStream({ blockSize: BLOCK });
    void c.fill(memorySource(Buffer.alloc(0)), () => undefined);
    expect(zstdDecompressSync(await collect(c)).length).toBe(0);
  });

  it("a throwing inspect destroys the stream with its error and reads no further", async () => {
    const source = memorySource(sample(8 * BLOCK, 1), BLOCK);
    const c = createZstdStream({ blockSize: BLOCK, workers: 2 });
    const bad = new Error("archive: CRC mismatch");
    let calls = 0;
    void c.fill(source, () => {
      calls += 1;
      if (calls === 3) throw bad;
    });
    await expect(collect(c)).rejects.toBe(bad);
    expect(source.reads).toBe(3);
    await vi.waitFor(() => expect(activeCompressionJobs()).toBe(0), { timeout: 5000 });
  });

  it("a failing read destroys the stream with the read's error", async () => {
    const failing: BlockSource = { readBlock: () => Promise.reject(Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" })) };
    const c = createGzipStream({ blockSize: BLOCK });
    void c.fill(failing, () => undefined);
    await expect(collect(c)).rejects.toThrow("EIO: i/o error, read");
  });

  it("stops reading once the stream is destroyed downstream", async () => {
    const source = memorySource(sample(64 * BLOCK, 2), BLOCK);
    const c = createGzipStream({ blockSize: BLOCK, workers: 1 });
    const filled = c.fill(source, () => undefined);
    c.once("data", () => c.destroy(new Error("the destination failed")));
    c.on("error", () => undefined);
    await filled;
    expect(source.reads).toBeLessThan(16);
    await vi.waitFor(() => expect(activeCompressionJobs()).toBe(0), { timeout: 5000 });
  });
});

describe("openArchiveSource of a file", () => {
  it("hands an uncompressed regular file over as the file itself, read by position from its start", async () => {
    const path = join(work, "plain.archive");
    const bytes = sample(3 * BLOCK + 5, 4);
    writeFileSync(path, bytes);
    const archive = await openArchiveSource(path);
    expect(isArchiveFile(archive.source)).toBe(true);
    expect(archive).toMatchObject({ storedBytes: bytes.length, compressed: false, info: { kind: "archive-file", description: path } });
    const chunks: Buffer[] = [];
    if (!isArchiveFile(archive.source)) throw new Error("not a file");
    for await (const c of fileChunks(archive.source)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    // fileChunks closed it; closing again is harmless.
    await archive.source.close();
  });

  it("decompresses a gzip-compressed file as a stream", async () => {
    const path = join(work, "gz.archive");
    const bytes = sample(2 * BLOCK, 5);
    writeFileSync(path, gzipSync(bytes));
    const archive = await openArchiveSource(path);
    expect(isArchiveFile(archive.source)).toBe(false);
    expect(archive.compressed).toBe(true);
    const chunks: Buffer[] = [];
    for await (const c of archive.source as AsyncIterable<Buffer>) chunks.push(c);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });

  it("a file handle is closed by close() once, however often it is called", async () => {
    const path = join(work, "close.archive");
    writeFileSync(path, sample(BLOCK, 6));
    const archive = await openArchiveSource(path);
    if (!isArchiveFile(archive.source)) throw new Error("not a file");
    await Promise.all([archive.source.close(), archive.source.close()]);
    await expect(archive.source.readBlock(Buffer.alloc(16), 0, 16)).rejects.toThrow(/closed|EBADF/);
    // The path itself is untouched and can be opened again.
    await (await open(path, "r")).close();
  });
});
