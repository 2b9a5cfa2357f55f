import { describe, expect, it } from "vitest";
import { createCrc64, crc64, crcToInt64 } from "../../runtime/src/archive/crc64.js";
import { randomSizes } from "./helpers.js";

describe("CRC-64/XZ (Go's crc64.ECMA as mongodump uses it)", () => {
  it("matches the catalogued check value and the empty input", () => {
    expect(crc64(Buffer.from("123456789"))).toBe(0x995dc9bbdf1939fan);
    expect(crc64(Buffer.alloc(0))).toBe(0n);
    expect(crcToInt64(0x995dc9bbdf1939fan)).toBe(-7395533204333446662n);
  });

  it("incremental updates over random splits equal the one-shot value", () => {
    const data = Buffer.alloc(100_003);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    const whole = crc64(data);
    for (const seed of [1, 2, 3, 4]) {
      const c = createCrc64();
      let at = 0;
      for (const size of randomSizes(seed, 100_000, 37)) {
        if (at >= data.length) break;
        const end = Math.min(data.length, at + size);
        // Alternate the two ways of passing a range.
        if (seed % 2) c.update(data.subarray(at, end));
        else c.update(data, at, end);
        at = end;
      }
      c.update(data.subarray(at));
      expect(c.digest()).toBe(whole);
    }
  });

  it("digest does not end the computation", () => {
    const c = createCrc64();
    c.update(Buffer.from("12345"));
    c.digest();
    c.update(Buffer.from("6789"));
    expect(c.digest()).toBe(0x995dc9bbdf1939fan);
  });
});
