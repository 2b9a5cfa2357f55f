import { describe, expect, it } from "vitest";
import { createCrc64, crc64, crcToInt64 } from "../../runtime/src/archive/crc64.js";
import { createWasmCrcKernel } from "../../runtime/src/archive/crc64-wasm.js";
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

  it("the WebAssembly kernel (ranges of 128 bytes or more) agrees with the pure-JS path, at any length and alignment", () => {
    // The kernel must be available here, or the comparisons below would test JS against itself.
    expect(createWasmCrcKernel(new Uint32Array(2048), new Uint32Array(2048))).toBeTypeOf("function");
    const data = Buffer.alloc(200_100);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2246822519) >>> 27;
    for (const length of [128, 129, 135, 136, 1000, 65535, 65536, 65537, 131_080, 200_003]) {
      for (const offset of [0, 1, 3, 7]) {
        const viaKernel = createCrc64();
        viaKernel.update(data, offset, offset + length);
        const viaJs = createCrc64();
        for (let at = offset; at < offset + length; at += 100) viaJs.update(data, at, Math.min(offset + length, at + 100));
        expect(viaKernel.digest(), `length ${length} offset ${offset}`).toBe(viaJs.digest());
      }
    }
  });

  it("matches a bit-by-bit reference implementation", () => {
    const reference = (buf: Uint8Array): bigint => {
      let crc = 0xffffffffffffffffn;
      for (const b of buf) {
        crc ^= BigInt(b);
        for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ 0xc96c5795d7870f42n : crc >> 1n;
      }
      return crc ^ 0xffffffffffffffffn;
    };
    const data = Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 131) & 0xff));
    for (const length of [1, 8, 127, 128, 300, 700]) expect(crc64(data.subarray(0, length))).toBe(reference(data.subarray(0, length)));
  });

  it("digest does not end the computation", () => {
    const c = createCrc64();
    c.update(Buffer.from("12345"));
    c.digest();
    c.update(Buffer.from("6789"));
    expect(c.digest()).toBe(0x995dc9bbdf1939fan);
  });
});
