import { describe, expect, it } from "vitest";
import { basePartSize, DEFAULT_PART_SIZE, MAX_PART_SIZE, MAX_PARTS, maxUploadSize, MiB, partSizeAt } from "../../runtime/src/destinations/part-size.js";
import { partsOf } from "../../runtime/src/destinations/s3-upload.js";

const GiB = 1024 * MiB;
/** The old ceiling: 10,000 parts of 5 MiB. */
const FIXED_CEILING = MAX_PARTS * 5 * MiB;

describe("multipart part size", () => {
  it("starts at 8 MiB and doubles every 1,000 parts, capped at 5 GiB", () => {
    expect(basePartSize()).toBe(8 * MiB);
    expect([0, 999, 1000, 1999, 2000, 3000, 9999].map((i) => partSizeAt(i, DEFAULT_PART_SIZE) / MiB)).toEqual([8, 8, 16, 16, 32, 64, 4096]);
    expect(partSizeAt(9999, 64 * MiB)).toBe(MAX_PART_SIZE);
  });

  it("lets 10,000 parts reach far past the 48.8 GiB fixed-5-MiB ceiling", () => {
    expect(maxUploadSize(5 * MiB)).toBe(5 * MiB * 1000 * 1023);
    expect(maxUploadSize(DEFAULT_PART_SIZE) / GiB).toBeCloseTo(7992.19, 2);
    expect(maxUploadSize(DEFAULT_PART_SIZE)).toBeGreaterThan(100 * FIXED_CEILING);
    // The default rule passes the old ceiling within its first 3,000 parts.
    let first3000 = 0;
    for (let i = 0; i < 3000; i++) first3000 += partSizeAt(i, DEFAULT_PART_SIZE);
    expect(first3000).toBeGreaterThan(FIXED_CEILING);
  });

  it("spreads a size hint over at most 9,000 parts, rounded up to whole MiB", () => {
    expect(basePartSize(DEFAULT_PART_SIZE, 1 * GiB)).toBe(8 * MiB);
    expect(basePartSize(DEFAULT_PART_SIZE, 100 * GiB)).toBe(12 * MiB);
    expect(Math.ceil((100 * GiB) / basePartSize(DEFAULT_PART_SIZE, 100 * GiB))).toBeLessThanOrEqual(9000);
    expect(basePartSize(DEFAULT_PART_SIZE, 5 * 1024 * GiB)).toBe(583 * MiB);
    expect(basePartSize(16 * MiB, 1 * GiB)).toBe(16 * MiB);
    expect(basePartSize(DEFAULT_PART_SIZE, 0)).toBe(8 * MiB);
  });

  it("refuses part sizes S3 would refuse", () => {
    expect(() => basePartSize(5 * MiB - 1)).toThrow(RangeError);
    expect(() => basePartSize(MAX_PART_SIZE + 1)).toThrow(RangeError);
    expect(() => basePartSize(5.5 * MiB + 0.5)).toThrow(RangeError);
  });
});

describe("partsOf", () => {
  async function cut(sizes: number[], chunk: number, base: number): Promise<number[]> {
    async function* chunks() {
      const total = sizes.reduce((a, b) => a + b, 0);
      for (let i = 0; i < total; i += chunk) yield Buffer.alloc(Math.min(chunk, total - i));
    }
    const out: number[] = [];
    for await (const part of partsOf(chunks(), base)) out.push(part.length);
    return out;
  }

  it("cuts exact part sizes whatever the chunk size, with a shorter last part", async () => {
    const base = 5 * MiB;
    expect(await cut([12 * MiB + 3], 64 * 1024, base)).toEqual([base, base, 2 * MiB + 3]);
    expect(await cut([12 * MiB + 3], 7 * MiB, base)).toEqual([base, base, 2 * MiB + 3]);
    expect(await cut([10 * MiB], 1 * MiB, base)).toEqual([base, base]);
    expect(await cut([0], 1, base)).toEqual([]);
  });

  it("keeps the bytes in order", async () => {
    const data = Buffer.from(Array.from({ length: 11 * MiB + 5 }, (_, i) => i % 251));
    async function* chunks() {
      for (let i = 0; i < data.length; i += 999_983) yield data.subarray(i, i + 999_983);
    }
    const parts: Buffer[] = [];
    for await (const part of partsOf(chunks(), 5 * MiB)) parts.push(Buffer.from(part));
    expect(parts.map((p) => p.length)).toEqual([5 * MiB, 5 * MiB, MiB + 5]);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });
});
