// The one contract suite every codec runs (STYLE.md §14), as test/destinations/contract.ts is for
// destinations: a codec is a pair of Transforms (encode, decode) at one seam of the pipeline,
// a compression kind or an encryption scheme. Each runs the same cases with exact outcomes:
// byte-for-byte round trips, and a truncated or corrupted encoding that fails the decoder
// instead of yielding bytes.
import type { Transform } from "node:stream";
import { describe, expect, it } from "vitest";
import { pseudoRandom, runTransform, transformAll } from "../crypto/support.js";

export interface Codec {
  /** A fresh encoding Transform. */
  readonly encode: () => Transform;
  /** A fresh decoding Transform. */
  readonly decode: () => Transform;
  /**
   * What a truncated or corrupted encoding must fail with: an error class (e.g. IntegrityError),
   * or undefined where the codec has no framing to check (compression "none": the archive
   * verifier and the stored SHA-256 catch such damage instead), and the cases are skipped saying so.
   */
  readonly damage: { readonly error: abstract new (...args: never[]) => Error } | { readonly undetectable: string };
  /** Offsets into `encoded` where one flipped byte must be detected; default: the middle and the last byte. */
  readonly corruptAt?: (encoded: Buffer) => readonly number[];
  /** Skip the whole suite, saying why (e.g. gpg missing). */
  readonly skip?: string;
}

/** Inputs every codec round-trips: empty, one byte, text that compresses, and random bytes across chunk sizes. */
function samples(): Array<[string, Buffer]> {
  const text = Buffer.from("the quick brown fox jumps over the lazy dog\n".repeat(5000));
  return [
    ["empty", Buffer.alloc(0)],
    ["one byte", Buffer.from([0x42])],
    ["200 KiB of repetitive text", text],
    ["1 MiB + 3 of random bytes", pseudoRandom(1024 * 1024 + 3, 7)],
  ];
}

/** Registers the contract tests for one codec. */
export function runCodecContract(seam: string, name: string, codec: Codec): void {
  describe.skipIf(!!codec.skip)(`${seam} codec contract: ${name}${codec.skip ? ` (skipped: ${codec.skip})` : ""}`, () => {
    it.each(samples())("round-trips %s byte for byte, whatever the piece sizes", async (_label, input) => {
      const encoded = await transformAll(codec.encode(), input, 4093);
      expect((await transformAll(codec.decode(), encoded, 1000)).equals(input)).toBe(true);
      expect((await transformAll(codec.decode(), encoded, Math.max(1, encoded.length))).equals(input)).toBe(true);
    });

    const input = pseudoRandom(300 * 1024, 11);
    const undetectable = "undetectable" in codec.damage ? codec.damage.undetectable : undefined;

    it(`fails a truncated encoding instead of ending early${undetectable ? ` (skipped: ${undetectable})` : ""}`, async (ctx) => {
      ctx.skip(!!undetectable, undetectable);
      const encoded = await transformAll(codec.encode(), input);
      for (const cut of [encoded.length - 1, Math.floor(encoded.length / 2), Math.min(20, encoded.length - 1)]) {
        const r = await runTransform(codec.decode(), encoded.subarray(0, cut));
        expect(r.err, `cut at ${cut} of ${encoded.length}`).toBeInstanceOf((codec.damage as { error: abstract new (...args: never[]) => Error }).error);
      }
    });

    it(`fails an encoding with one flipped byte${undetectable ? ` (skipped: ${undetectable})` : ""}`, async (ctx) => {
      ctx.skip(!!undetectable, undetectable);
      const encoded = await transformAll(codec.encode(), input);
      const offsets = codec.corruptAt?.(encoded) ?? [Math.floor(encoded.length / 2), encoded.length - 1];
      for (const at of offsets) {
        const bad = Buffer.from(encoded);
        bad[at] = bad[at]! ^ 0x01;
        const r = await runTransform(codec.decode(), bad);
        expect(r.err, `byte ${at} of ${encoded.length} flipped`).toBeInstanceOf((codec.damage as { error: abstract new (...args: never[]) => Error }).error);
        // Nothing that fails the check may look like the original.
        expect(r.out.equals(input)).toBe(false);
      }
    });
  });
}
