/**
 * A small, fast, seedable pseudo-random generator for demo and benchmark data. Not for anything
 * secret: the point is that the same seed always yields the same data set, on every machine.
 *
 * The core is SFC32 (Chris Doty-Humphrey's "small fast chaotic" generator, 128-bit state),
 * seeded through SplitMix32 so that nearby seeds give unrelated streams.
 */
export interface Prng {
  /** Next unsigned 32-bit integer. */
  u32(): number;
  /** Integer in [0, n) for 1 ≤ n ≤ 2^32 (modulo bias is irrelevant for demo data). */
  int(n: number): number;
  /** Integer in [min, max], both inclusive. */
  between(min: number, max: number): number;
  /** Float in [0, 1). */
  float(): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** `bytes` random bytes as lower-case hex (2 × bytes characters). */
  hex(bytes: number): string;
  /** Fills `out` with random bytes and returns it. */
  fill(out: Uint8Array): Uint8Array;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Creates a generator whose whole output is determined by `seed` (any 32-bit integer). */
export function createPrng(seed: number): Prng {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = 1;

  const u32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  // The first outputs of SFC32 still correlate with the seed; the reference implementation discards a dozen.
  for (let i = 0; i < 12; i += 1) u32();

  const int = (n: number): number => (n <= 1 ? 0 : u32() % n);
  return {
    u32,
    int,
    between: (min, max) => min + int(max - min + 1),
    float: () => u32() / 0x1_0000_0000,
    pick: <T>(items: readonly T[]): T => items[int(items.length)] as T,
    hex(bytes) {
      // Table lookups: toString(16) + padStart dominated data generation.
      let out = "";
      let word = 0;
      for (let i = 0; i < bytes; i += 1) {
        if ((i & 3) === 0) word = u32();
        out += HEX[word & 0xff] as string;
        word >>>= 8;
      }
      return out;
    },
    fill(out) {
      for (let i = 0; i < out.length; i += 4) {
        let word = u32();
        for (let j = i; j < i + 4 && j < out.length; j += 1) {
          out[j] = word & 0xff;
          word >>>= 8;
        }
      }
      return out;
    },
  };
}
