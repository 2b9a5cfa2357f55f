import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { createCompressor, createDecompressor, detectCompression, type Compression } from "../../runtime/src/compression/index.js";
import { summarizeArchive } from "../../runtime/src/archive/reader.js";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { ConfigError } from "../../runtime/src/errors.js";

const hasZstd = typeof (zlib as unknown as { createZstdCompress?: unknown }).createZstdCompress === "function";

async function through(input: Buffer, ...stages: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(
    Readable.from([input]),
    ...(stages as [NodeJS.ReadWriteStream]),
    new Writable({
      write(chunk: Buffer, _e, cb) {
        chunks.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(chunks);
}

describe("detectCompression", () => {
  it.each<[string, number[], Compression]>([
    ["gzip magic", [0x1f, 0x8b, 0x08, 0x00], "gzip"],
    ["zstd frame magic", [0x28, 0xb5, 0x2f, 0xfd, 0x04], "zstd"],
    ["mongodump archive magic", [0x6d, 0xe2, 0x99, 0x81], "none"],
    ["age header", [...Buffer.from("age-encryption.org/v1\n")], "none"],
    ["one byte of gzip magic", [0x1f], "none"],
    ["three bytes of zstd magic", [0x28, 0xb5, 0x2f], "none"],
    ["empty input", [], "none"],
  ])("%s → %s", (_name, bytes, expected) => {
    expect(detectCompression(Uint8Array.from(bytes))).toBe(expected);
  });

  it("recognises what createCompressor writes", async () => {
    const gz = await through(Buffer.from("hello"), createCompressor("gzip"));
    expect(detectCompression(gz)).toBe("gzip");
  });
});

describe("createCompressor / createDecompressor", () => {
  const input = Buffer.from("cloudsync ".repeat(50_000));

  it("gzip round-trips through the multi-member-aware decompressor", async () => {
    const gz = await through(input, createCompressor("gzip", { blockSize: 64 * 1024, workers: 2 }));
    expect(gz.length).toBeLessThan(input.length / 10);
    expect((await through(gz, createDecompressor("gzip"))).equals(input)).toBe(true);
  });

  it("gzip decompressor reads several concatenated members", async () => {
    const members = Buffer.concat([zlib.gzipSync("first "), zlib.gzipSync(""), zlib.gzipSync("second")]);
    expect((await through(members, createDecompressor("gzip"))).toString()).toBe("first second");
  });

  it("gzip decompressor fails on a corrupt stream", async () => {
    const gz = zlib.gzipSync(input);
    gz[gz.length - 6] = (gz[gz.length - 6] ?? 0) ^ 0xff;
    await expect(through(gz, createDecompressor("gzip"))).rejects.toThrow(/incorrect data check|invalid|unexpected end/);
  });

  it("none passes bytes through unchanged", async () => {
    expect((await through(input, createCompressor("none"))).equals(input)).toBe(true);
    expect((await through(input, createDecompressor("none"))).equals(input)).toBe(true);
  });

  it("rejects an unknown kind with a ConfigError", () => {
    expect(() => createCompressor("brotli" as Compression)).toThrow(
      new ConfigError("compress", 'unknown compression "brotli"; use gzip, zstd or none'),
    );
    expect(() => createDecompressor("lz4" as Compression)).toThrow(ConfigError);
  });

  it.skipIf(hasZstd)("zstd fails with a ConfigError naming the Node version (skipped: this Node has zstd)", () => {
    const expected = `compress: zstd needs Node ≥ 22.15 (this is Node ${process.versions.node}, whose zlib has no zstd); use gzip or none`;
    for (const make of [() => createCompressor("zstd"), () => createDecompressor("zstd")]) {
      let caught: unknown;
      try {
        make();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).field).toBe("compress");
      expect((caught as ConfigError).message).toBe(expected);
    }
  });

  it.skipIf(!hasZstd)("zstd round-trips (skipped: this Node's zlib has no zstd)", async () => {
    const z = await through(input, createCompressor("zstd", { level: 3 }));
    expect(detectCompression(z)).toBe("zstd");
    expect((await through(z, createDecompressor("zstd"))).equals(input)).toBe(true);
  });
});

describe("gzip of a demo archive", () => {
  it("gunzips back to an archive whose every namespace passes its CRC", async () => {
    const gz = createCompressor("gzip", { blockSize: 64 * 1024, workers: 2 });
    const gunzip = createDecompressor("gzip");
    const source = generateDemoArchive({ targetBytes: 600 * 1024, seed: 8 });
    const [summary] = await Promise.all([summarizeArchive(gunzip), pipeline(source, gz, gunzip)]);
    expect(summary.namespaces.map((n) => [n.ns, n.crcOk])).toEqual([
      ["cloudsync.models", true],
      ["cloudsync.inventories", true],
      ["cloudsync.licenses", true],
      ["cloudsync.events", true],
    ]);
  });
});
