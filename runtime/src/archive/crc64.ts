/**
 * CRC-64/XZ — the checksum the mongodump archive format stores in each namespace's EOF header
 * (Go's `crc64.New(crc64.MakeTable(crc64.ECMA))`: reflected ECMA-182 polynomial, init and
 * xor-out all ones). Check value: CRC-64/XZ("123456789") = 0x995dc9bbdf1939fa.
 *
 * Speed matters: every archive byte passes through here on the backup path. The register is kept
 * as two 32-bit halves (no BigInt per byte) and input is consumed eight bytes per step with
 * slicing-by-8 tables; ranges of KERNEL_MIN bytes or more go to the same algorithm compiled to
 * WebAssembly (crc64-wasm.ts), whose native 64-bit arithmetic is about 2.5× faster.
 */
// Named as the .ts file (tsc writes .js when it builds): the compression threads load this module,
// and under the tests Node loads them from the sources (block-worker.ts).
import { createWasmCrcKernel } from "./crc64-wasm.ts";

/** The reflected form of the ECMA-182 polynomial 0x42F0E1EBA9EA3693, split into halves. */
const POLY_HI = 0xc96c5795;
const POLY_LO = 0xd7870f42;

/**
 * Eight 256-entry tables as low and high 32-bit words, entry n of table k at index k*256+n.
 * Table k is the CRC contribution of byte n followed by k zero bytes (slicing-by-8).
 */
const LO = new Uint32Array(8 * 256);
const HI = new Uint32Array(8 * 256);
buildTables();

/** Below this many bytes the copy into WebAssembly memory costs more than it saves. */
const KERNEL_MIN = 128;
const KERNEL = createWasmCrcKernel(LO, HI);
/** Scratch register handed to the kernel (single-threaded, used synchronously). */
const REG = new Uint32Array(2);

function buildTables(): void {
  for (let n = 0; n < 256; n++) {
    let lo = n;
    let hi = 0;
    for (let bit = 0; bit < 8; bit++) {
      const lsb = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (lsb) {
        lo = (lo ^ POLY_LO) >>> 0;
        hi = (hi ^ POLY_HI) >>> 0;
      }
    }
    LO[n] = lo;
    HI[n] = hi;
  }
  for (let i = 256; i < 8 * 256; i++) {
    const lo = LO[i - 256]!;
    const hi = HI[i - 256]!;
    LO[i] = ((lo >>> 8) | (hi << 24)) ^ LO[lo & 0xff]!;
    HI[i] = (hi >>> 8) ^ HI[lo & 0xff]!;
  }
}

/** Incremental CRC-64/XZ. `digest` may be called at any time and does not end the computation. */
export interface Crc64 {
  /** Feeds `buf[start, end)` (whole buffer by default). */
  update(buf: Uint8Array, start?: number, end?: number): void;
  /** The CRC of everything fed so far, as an unsigned 64-bit value. */
  digest(): bigint;
}

/** Creates an incremental CRC-64/XZ. Feeding the input in any split gives the same digest. */
export function createCrc64(): Crc64 {
  // The register holds the complemented CRC (init all ones), as two unsigned 32-bit halves.
  let lo = 0xffffffff;
  let hi = 0xffffffff;
  return {
    update(buf, start = 0, end = buf.length) {
      if (KERNEL && end - start >= KERNEL_MIN) {
        REG[0] = lo;
        REG[1] = hi;
        KERNEL(REG, buf, start, end);
        lo = REG[0]!;
        hi = REG[1]!;
        return;
      }
      const tl = LO;
      const th = HI;
      let i = start;
      let l = lo;
      let h = hi;
      const stop8 = end - 8;
      while (i <= stop8) {
        const a = l ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
        const b = h ^ (buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24));
        const i7 = 1792 + (a & 0xff);
        const i6 = 1536 + ((a >>> 8) & 0xff);
        const i5 = 1280 + ((a >>> 16) & 0xff);
        const i4 = 1024 + (a >>> 24);
        const i3 = 768 + (b & 0xff);
        const i2 = 512 + ((b >>> 8) & 0xff);
        const i1 = 256 + ((b >>> 16) & 0xff);
        const i0 = b >>> 24;
        l = tl[i7]! ^ tl[i6]! ^ tl[i5]! ^ tl[i4]! ^ tl[i3]! ^ tl[i2]! ^ tl[i1]! ^ tl[i0]!;
        h = th[i7]! ^ th[i6]! ^ th[i5]! ^ th[i4]! ^ th[i3]! ^ th[i2]! ^ th[i1]! ^ th[i0]!;
        i += 8;
      }
      while (i < end) {
        const idx = (l ^ buf[i]!) & 0xff;
        l = ((l >>> 8) | (h << 24)) ^ tl[idx]!;
        h = (h >>> 8) ^ th[idx]!;
        i++;
      }
      lo = l >>> 0;
      hi = h >>> 0;
    },
    digest() {
      return (BigInt((~hi) >>> 0) << 32n) | BigInt((~lo) >>> 0);
    },
  };
}

/** One-shot CRC-64/XZ of `buf`, as an unsigned 64-bit value. */
export function crc64(buf: Uint8Array): bigint {
  const c = createCrc64();
  c.update(buf);
  return c.digest();
}

/** The unsigned CRC as the signed int64 the archive stores (Go writes `int64(hash.Sum64())`). */
export function crcToInt64(crc: bigint): bigint {
  return BigInt.asIntN(64, crc);
}

/**
 * The CRC-64/XZ of `buf[start, end)` for each `[start, end)` pair of `ranges` (flattened), each
 * range on its own, as a fresh CRC would give it. What a compression thread computes for the
 * ranges of its block (`createDeferredCrcs`).
 */
export function crc64Ranges(buf: Uint8Array, ranges: readonly number[]): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i + 1 < ranges.length; i += 2) {
    const c = createCrc64();
    c.update(buf, ranges[i], ranges[i + 1]);
    out.push(c.digest());
  }
  return out;
}

/**
 * `a · b mod P` over GF(2) in the reflected bit order of the register (x^0 is the top bit), as
 * [high, low] 32-bit halves.
 */
function mulModP(aHi: number, aLo: number, bHi: number, bLo: number): [number, number] {
  let pHi = 0;
  let pLo = 0;
  for (let i = 0; i < 64; i++) {
    const bit = i < 32 ? (aHi >>> (31 - i)) & 1 : (aLo >>> (63 - i)) & 1;
    if (bit) {
      pHi ^= bHi;
      pLo ^= bLo;
    }
    // b ← b · x mod P: one step right in the reflected order, folding the polynomial back in.
    const carry = bLo & 1;
    bLo = ((bLo >>> 1) | ((bHi & 1) << 31)) >>> 0;
    bHi >>>= 1;
    if (carry) {
      bHi = (bHi ^ POLY_HI) >>> 0;
      bLo = (bLo ^ POLY_LO) >>> 0;
    }
  }
  return [pHi >>> 0, pLo >>> 0];
}

/** x^(2^k) mod P for k = 0…63, reflected: entry k at [2k] (high half) and [2k + 1] (low half). */
const X2N = new Uint32Array(128);
X2N[0] = 0x40000000; // x^1
for (let k = 1; k < 64; k++) {
  const [h, l] = mulModP(X2N[2 * k - 2]!, X2N[2 * k - 1]!, X2N[2 * k - 2]!, X2N[2 * k - 1]!);
  X2N[2 * k] = h;
  X2N[2 * k + 1] = l;
}

/** x^(8·bytes) mod P, the shift of appending `bytes` bytes, cached by length (blocks repeat lengths). */
const SHIFTS = new Map<number, [number, number]>();

function shiftFor(bytes: number): [number, number] {
  const cached = SHIFTS.get(bytes);
  if (cached) return cached;
  let pHi = 0x80000000; // x^0
  let pLo = 0;
  // 8·bytes = bytes · 2^3: walk the bits of `bytes`, starting from x^(2^3).
  for (let n = bytes, k = 3; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) [pHi, pLo] = mulModP(X2N[2 * k]!, X2N[2 * k + 1]!, pHi, pLo);
  }
  if (SHIFTS.size >= 4096) SHIFTS.clear();
  SHIFTS.set(bytes, [pHi, pLo]);
  return [pHi, pLo];
}

/**
 * The CRC-64/XZ of A ‖ B from the CRC of A, the CRC of B and B's length. (CRC-64/XZ starts from
 * and ends with all ones, so those terms cancel: crc(A ‖ B) = crc(A) · x^(8·|B|) ⊕ crc(B) mod P.)
 */
export function crc64Combine(crcA: bigint, crcB: bigint, bytesB: number): bigint {
  if (bytesB === 0) return crcA;
  const [sHi, sLo] = shiftFor(bytesB);
  const [hi, lo] = mulModP(Number(crcA >> 32n), Number(crcA & 0xffffffffn), sHi, sLo);
  return ((BigInt(hi) << 32n) | BigInt(lo)) ^ crcB;
}
