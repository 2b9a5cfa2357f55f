import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { execFileSync } from "node:child_process";
import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { createCompressor, createDecompressor, detectCompression, type Compression } from "../../runtime/src/compression/index.js";
import { summarizeArchive } from "../../runtime/src/archive/reader.js";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { ConfigError } from "../../runtime/src/errors.js";

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

  it("zstd round-trips at the default and at an explicit level", async () => {
    for (const level of [undefined, 1, 19]) {
      const z = await through(input, createCompressor("zstd", level === undefined ? {} : { level }));
      expect(detectCompression(z)).toBe("zstd");
      expect(z.length).toBeLessThan(input.length / 100);
      expect((await through(z, createDecompressor("zstd"))).equals(input)).toBe(true);
    }
  });

  it("zstd decompressor reads several concatenated frames", async () => {
    const frames = Buffer.concat([zlib.zstdCompressSync("first "), zlib.zstdCompressSync(""), zlib.zstdCompressSync("second")]);
    expect((await through(frames, createDecompressor("zstd"))).toString()).toBe("first second");
  });

  it("zstd decompressor fails on a corrupt frame", async () => {
    const z = await through(input, createCompressor("zstd"));
    z[z.length - 2] = (z[z.length - 2] ?? 0) ^ 0xff;
    await expect(through(z, createDecompressor("zstd"))).rejects.toThrow(/zstd|corrupt|checksum/i);
  });
});

describe("zstd interop with the real zstd CLI", () => {
  const input = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `line ${i} ${i % 7 === 0 ? "seven" : "other"}\n`).join(""));

  it("zstd -d reads what createCompressor writes, byte for byte", async () => {
    const z = await through(input, createCompressor("zstd", { level: 1 }));
    expect(execFileSync("zstd", ["-d", "-c", "-q"], { input: z, maxBuffer: 1 << 26 }).equals(input)).toBe(true);
    expect(execFileSync("zstd", ["-t", "-q"], { input: z }).length).toBe(0);
  });

  it("createDecompressor reads what zstd -19 writes", async () => {
    const z = execFileSync("zstd", ["-19", "-c", "-q"], { input, maxBuffer: 1 << 26 });
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
