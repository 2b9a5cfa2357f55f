// Structural faults built byte by byte from the format's own pieces, so every expected offset is
// known exactly. Needs no fixture.
import { describe, expect, it } from "vitest";
import { BSON } from "bson";
import { summarizeArchive } from "../../runtime/src/archive/reader.js";
import {
  MAGIC,
  TERMINATOR,
  encodeHeaderDocument,
  encodeMetadataDocument,
  encodeNamespaceHeader,
} from "../../runtime/src/archive/format.js";
import { crc64 } from "../../runtime/src/archive/crc64.js";
import { IntegrityError } from "../../runtime/src/errors.js";
import { chunked } from "./fixtures.js";
import { integrityMessage, randomSizes } from "./helpers.js";

const header = encodeHeaderDocument({ version: "0.1", serverVersion: "7.0.0", toolVersion: "test" }, 1);
const meta = (collection: string): Buffer =>
  encodeMetadataDocument({ db: "d", collection, metadata: '{"options":{},"indexes":[]}', size: 0 });
const doc = Buffer.from(BSON.serialize({ _id: 1, v: "x" }));
const eofOf = (collection: string, docs: Buffer[]): Buffer =>
  encodeNamespaceHeader("d", collection, true, crc64(Buffer.concat(docs)));

/** A prelude for d.a, then the given blocks. */
function archive(...blocks: Buffer[]): Buffer {
  return Buffer.concat([MAGIC, header, meta("a"), TERMINATOR, ...blocks]);
}
const preludeLength = archive().length;
const segmentA = Buffer.concat([encodeNamespaceHeader("d", "a", false), doc, TERMINATOR]);
const eofA = Buffer.concat([eofOf("a", [doc]), TERMINATOR]);
const good = archive(segmentA, eofA);

async function problem(buf: Buffer, sizes?: number[]): Promise<string> {
  return integrityMessage(summarizeArchive(chunked(buf, sizes)));
}

describe("malformed archives fail with exact IntegrityErrors", () => {
  it("the well-formed base case parses, in any chunking", async () => {
    for (const sizes of [[good.length], [1], randomSizes(7, 50, 9)]) {
      const s = await summarizeArchive(chunked(good, sizes));
      expect(s.namespaces).toEqual([
        { ns: "d.a", db: "d", collection: "a", documents: 1, bytes: doc.length, crc: BigInt.asIntN(64, crc64(doc)).toString(), crcOk: true },
      ]);
    }
  });

  it("wrong magic number", async () => {
    expect(await problem(Buffer.concat([Buffer.from("PK\x03\x04"), good.subarray(4)]))).toBe(
      "archive: not a mongodump archive: the magic number is missing at offset 0",
    );
  });

  it("empty input", async () => {
    expect(await problem(Buffer.alloc(0))).toBe("archive: truncated at offset 0 in the magic number");
  });

  it("a namespace that is not in the prelude", async () => {
    const segmentB = Buffer.concat([encodeNamespaceHeader("d", "b", false), doc, TERMINATOR]);
    expect(await problem(archive(segmentB))).toBe(`archive: namespace d.b at offset ${preludeLength} is not in the archive prelude`);
  });

  it("a second EOF header for the same namespace (another namespace still open)", async () => {
    const buf = Buffer.concat([MAGIC, header, meta("a"), meta("b"), TERMINATOR, segmentA, eofA, eofA]);
    expect(await problem(buf, [3])).toBe(`archive: second EOF header for d.a at offset ${buf.length - eofA.length}`);
    // With every namespace closed, anything more is trailing data, whatever it looks like.
    expect(await problem(archive(segmentA, eofA, eofA))).toBe(`archive: trailing data at offset ${good.length} after the last namespace's EOF header`);
  });

  it("a segment after the namespace's EOF header (with another namespace still open)", async () => {
    const buf = Buffer.concat([MAGIC, header, meta("a"), meta("b"), TERMINATOR, segmentA, eofA, segmentA]);
    expect(await problem(buf)).toBe(`archive: segment of d.a at offset ${buf.length - segmentA.length} after its EOF header`);
  });

  it("trailing junk after the last EOF block", async () => {
    expect(await problem(Buffer.concat([good, Buffer.from("junk")]))).toBe(
      `archive: trailing data at offset ${good.length} after the last namespace's EOF header`,
    );
    expect(await problem(Buffer.concat([good, Buffer.from("ju")]))).toBe(`archive: truncated at offset ${good.length + 2} in a namespace header`);
  });

  it("an EOF header without its terminator", async () => {
    expect(await problem(archive(segmentA, eofOf("a", [doc])))).toBe(`archive: truncated at offset ${good.length - 4} after the EOF header of d.a`);
    const wrong = archive(segmentA, eofOf("a", [doc]), Buffer.from([1, 2, 3, 4]));
    expect(await problem(wrong)).toBe(`archive: missing terminator after the EOF header of d.a at offset ${good.length - 4}`);
  });

  it("a document length that is impossible, wherever the chunk boundary falls", async () => {
    const at = preludeLength + encodeNamespaceHeader("d", "a", false).length;
    for (const len of [0, 4, 16 * 1024 * 1024 + 16 * 1024 + 1, -2]) {
      const buf = Buffer.from(good);
      buf.writeInt32LE(len, at);
      for (const sizes of [[buf.length], [1], [at + 2]]) {
        expect(await problem(buf, sizes)).toBe(`archive: invalid document length ${len} at offset ${at} in a segment of d.a`);
      }
    }
  });

  it("a document that does not end with NUL, whole or split across chunks", async () => {
    const at = preludeLength + encodeNamespaceHeader("d", "a", false).length;
    const buf = Buffer.from(good);
    buf[at + doc.length - 1] = 0x41;
    for (const sizes of [[buf.length], [at + 6]]) {
      expect(await problem(buf, sizes)).toBe(`archive: document of d.a at offset ${at} does not end with a NUL byte`);
    }
  });

  it("an archive that ends before a namespace of its prelude appears", async () => {
    expect(await problem(archive())).toBe(`archive: truncated at offset ${preludeLength}: namespace d.a announced in the prelude never appears`);
    expect(await problem(archive(segmentA))).toBe(`archive: truncated at offset ${preludeLength + segmentA.length}: d.a has no EOF header`);
  });

  it("a consecutive terminator where a namespace header should start", async () => {
    expect(await problem(archive(TERMINATOR))).toBe(`archive: unexpected terminator at offset ${preludeLength} where a namespace header should start`);
  });

  it("a control document that is not BSON", async () => {
    const buf = Buffer.from(good);
    buf[preludeLength + 4] = 0x77; // an unknown BSON element type in the namespace header
    expect(await problem(buf)).toMatch(new RegExp(`^archive: namespace header at offset ${preludeLength} is not valid BSON: `));
  });

  it("any single flipped bit either parses or fails with an IntegrityError, never anything else", async () => {
    const buf = archive(segmentA, eofA);
    const docStart = preludeLength + encodeNamespaceHeader("d", "a", false).length;
    for (let at = 0; at < buf.length; at++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Buffer.from(buf);
        bad[at] = bad[at]! ^ bit;
        const outcome = await summarizeArchive(chunked(bad, [7])).then(
          () => "parsed",
          (err: unknown) => (err instanceof IntegrityError ? "integrity" : `other: ${String(err)}`),
        );
        // Inside a document the CRC catches every single-bit error; elsewhere a flip may land in
        // a string (a version, the metadata text) and still be a well-formed archive.
        if (at >= docStart && at < docStart + doc.length) expect(outcome, `byte ${at}`).toBe("integrity");
        else expect(["parsed", "integrity"], `byte ${at}`).toContain(outcome);
      }
    }
  });

  it("an empty archive (no namespaces at all) is valid", async () => {
    const s = await summarizeArchive(chunked(Buffer.concat([MAGIC, header, TERMINATOR])));
    expect(s.namespaces).toEqual([]);
    expect(s.metadata).toEqual([]);
  });

  it("a timeseries collection's data travels as system.buckets.<name>", async () => {
    const ts = encodeMetadataDocument({ db: "d", collection: "w", metadata: '{"options":{"timeseries":{}}}', size: 0, type: "timeseries" });
    const seg = Buffer.concat([encodeNamespaceHeader("d", "system.buckets.w", false), doc, TERMINATOR]);
    const eof = Buffer.concat([encodeNamespaceHeader("d", "system.buckets.w", true, crc64(doc)), TERMINATOR]);
    const s = await summarizeArchive(chunked(Buffer.concat([MAGIC, header, ts, TERMINATOR, seg, eof])));
    expect(s.namespaces.map((n) => [n.ns, n.documents, n.crcOk])).toEqual([["d.system.buckets.w", 1, true]]);
    expect(s.metadata[0]!.type).toBe("timeseries");
  });
});
