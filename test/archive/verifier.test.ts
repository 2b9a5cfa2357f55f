import { describe, expect, it } from "vitest";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createArchiveVerifier } from "../../runtime/src/archive/verifier.js";
import { summarizeArchive } from "../../runtime/src/archive/reader.js";
import { writeArchive } from "../../runtime/src/archive/writer.js";
import { IntegrityError } from "../../runtime/src/errors.js";
import { namespacesForRoundTrip } from "../support/bson-types.js";
import { chunked } from "./fixtures.js";
import { readAll } from "../support/streams.js";
import { flip, randomSizes } from "./helpers.js";

async function archiveBytes(): Promise<Buffer> {
  const input = namespacesForRoundTrip();
  return readAll(
    writeArchive(
      { header: { version: "0.1", serverVersion: "8.0.4", toolVersion: "t" }, namespaces: input.map((n) => ({ meta: n.meta, documents: n.docs })) },
      { concurrency: 2, segmentBytes: 2048 },
    ),
  );
}

/** Runs `bytes` through a verifier in the given chunking; returns what came out and the outcome. */
async function verify(bytes: Buffer, sizes: number[]): Promise<{ out: Buffer; error?: unknown }> {
  const verifier = createArchiveVerifier();
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(chunk);
      cb();
    },
  });
  try {
    await pipeline(Readable.from(chunked(bytes, sizes)), verifier, sink);
  } catch (error) {
    await expect(verifier.summary).rejects.toBe(error);
    return { out: Buffer.concat(parts), error };
  }
  await expect(verifier.summary).resolves.toEqual(await summarizeArchive(chunked(bytes)));
  return { out: Buffer.concat(parts) };
}

describe("archive verifier (pass-through Transform)", () => {
  it("forwards exactly the input bytes and resolves the summary, in any chunking", async () => {
    const bytes = await archiveBytes();
    for (const sizes of [[bytes.length], [1], randomSizes(11, 500, 700)]) {
      const { out, error } = await verify(bytes, sizes);
      expect(error).toBeUndefined();
      expect(out.equals(bytes)).toBe(true);
    }
  });

  it("fails the pipeline with an IntegrityError on a flipped document byte", async () => {
    const bytes = await archiveBytes();
    const bad = Buffer.from(bytes);
    flip(bad, bad.indexOf(Buffer.from("user 1000")) + 2);
    const { error } = await verify(bad, [4096]);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(/^archive: CRC mismatch for shop\.many \(EOF header at offset \d+\): stored -?\d+, computed -?\d+ over 2000 documents$/);
  });

  it("fails on truncation and forwards nothing past the bad input", async () => {
    const bytes = await archiveBytes();
    const { out, error } = await verify(bytes.subarray(0, bytes.length - 1), [1000]);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toBe(`archive: truncated at offset ${bytes.length - 1} after the EOF header of shop.many`);
    expect(out.equals(bytes.subarray(0, bytes.length - 1))).toBe(true);
    const junk = Buffer.concat([bytes, Buffer.from("garbage!")]);
    const r = await verify(junk, [bytes.length, 8]);
    expect((r.error as Error).message).toBe(`archive: trailing data at offset ${bytes.length} after the last namespace's EOF header`);
    expect(r.out.equals(bytes)).toBe(true);
  });
});
