// Deferred namespace checksums: CRC-64/XZ combining, per-range CRCs, and the archive checks with
// their CRCs computed elsewhere (what the backup's compression threads do), against the inline checks.
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { crc64, crc64Combine, crc64Ranges } from "../../runtime/src/archive/crc64.js";
import { createDeferredCrcs } from "../../runtime/src/archive/crc64-deferred.js";
import { createArchiveCheck } from "../../runtime/src/archive/verifier.js";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { IntegrityError } from "../../runtime/src/errors.js";
import { randomSizes } from "./helpers.js";

async function demoArchive(bytes: number, seed: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of Readable.from(generateDemoArchive({ targetBytes: bytes, seed }))) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Runs the deferred checks over `archive` the way ParallelCompressor.fill does: blocks of `block` bytes in shared buffers, read in pieces of `sizes`. */
function deferredCheck(archive: Buffer, block: number, seed: number): { end(): unknown } {
  const crcs = createDeferredCrcs();
  const check = createArchiveCheck({ deferredCrc: crcs });
  const sizes = randomSizes(seed, 4096, 150_000);
  let at = 0;
  let s = 0;
  while (at < archive.length) {
    const sab = new SharedArrayBuffer(block);
    const view = Buffer.from(sab);
    crcs.startBlock(sab);
    let filled = 0;
    while (filled < block && at < archive.length) {
      const n = Math.min(sizes[s++ % sizes.length]!, block - filled, archive.length - at);
      archive.copy(view, filled, at, at + n);
      check.push(view.subarray(filled, filled + n));
      filled += n;
      at += n;
    }
    const taken = crcs.takeBlock();
    taken.settle(crc64Ranges(view, taken.ranges));
  }
  return check;
}

describe("crc64Combine and crc64Ranges", () => {
  it("combine(crc(A), crc(B), |B|) is crc(A ‖ B), empty parts included", () => {
    const data = Buffer.alloc(20_011);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 23;
    for (const cut of [0, 1, 7, 8, 9, 4096, 20_010, 20_011]) {
      expect(crc64Combine(crc64(data.subarray(0, cut)), crc64(data.subarray(cut)), data.length - cut)).toBe(crc64(data));
    }
    expect(crc64Combine(0n, crc64(data), data.length)).toBe(crc64(data));
  });

  it("crc64Ranges gives each range's own CRC", () => {
    const data = Buffer.from("0123456789abcdefghij");
    expect(crc64Ranges(data, [0, 9, 9, 9, 10, 20])).toEqual([crc64(data.subarray(0, 9)), 0n, crc64(data.subarray(10, 20))]);
  });
});

describe("archive checks with deferred CRCs", () => {
  it.each([
    [64 * 1024, 1],
    [1024 * 1024, 2],
    [100_003, 3],
  ])("blocks of %i bytes: the same summary as the inline checks", async (block, seed) => {
    const archive = await demoArchive(3 * 1024 * 1024, 11);
    const inline = createArchiveCheck();
    inline.push(archive);
    expect(deferredCheck(archive, block, seed).end()).toEqual(inline.end());
  });

  it("a changed byte inside a document fails end() with the inline checks' CRC message", async () => {
    const archive = await demoArchive(2 * 1024 * 1024, 2026);
    archive[(1 << 20) + 123]! ^= 0x20;
    const inline = createArchiveCheck();
    let message = "";
    try {
      inline.push(archive);
      inline.end();
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^archive: CRC mismatch for cloudsync\.\w+ \(EOF header at offset \d+\)/);
    const deferred = deferredCheck(archive, 256 * 1024, 4);
    expect(() => deferred.end()).toThrow(IntegrityError);
    expect(() => deferred.end()).toThrow(message);
  });

  it("a digest asked for before its blocks are settled is an internal error, not a wrong answer", () => {
    const crcs = createDeferredCrcs();
    const sab = new SharedArrayBuffer(16);
    crcs.startBlock(sab);
    const c = crcs.create();
    c.update(Buffer.from(sab), 0, 16);
    expect(() => c.digest()).toThrow(/before all of its blocks were checksummed/);
    crcs.takeBlock().settle([crc64(Buffer.alloc(16))]);
    expect(c.digest()).toBe(crc64(Buffer.alloc(16)));
  });
});
