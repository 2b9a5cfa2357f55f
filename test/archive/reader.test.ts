import { describe, expect, it } from "vitest";
import { summarizeArchive } from "../../runtime/src/archive/reader.js";
import { collectEvents as collect, flip, integrityMessage } from "./helpers.js";
import { chunked, fixture, fixtureSkipReason, haveFixtures } from "./fixtures.js";

describe.skipIf(!haveFixtures)(`real mongodump archives${fixtureSkipReason}`, () => {
  it("test.bar.archive: header, prelude, namespaces, counts and CRCs", async () => {
    const summary = await summarizeArchive(chunked(fixture("test.bar.archive")));
    expect(summary.header).toEqual({ version: "0.1", serverVersion: "3.4.3", toolVersion: "r3.4.3", concurrentCollections: 4 });
    expect(summary.metadata.map((m) => `${m.db}.${m.collection}`)).toEqual(["test.bar", "admin.system.version"]);
    expect(summary.metadata[0]!.metadata).toBe('{"options":{},"indexes":[{"v":2,"key":{"_id":1},"name":"_id_","ns":"test.bar"}]}');
    expect(summary.metadata[0]!.size).toBe(0);
    expect(summary.metadata[0]!.type).toBeUndefined();
    expect(summary.namespaces).toEqual([
      { ns: "admin.system.version", db: "admin", collection: "system.version", documents: 1, bytes: 59, crc: "-682997726120892866", crcOk: true },
      { ns: "test.bar", db: "test", collection: "bar", documents: 1, bytes: 35, crc: "-7824457949569593127", crcOk: true },
    ]);
  });

  it("test.bar.archive: documents are the raw bytes of the file, whatever the chunking", async () => {
    const file = fixture("test.bar.archive");
    for (const sizes of [[file.length], [1], [3, 7], [64]]) {
      const events = await collect(chunked(file, sizes));
      const docs = events.filter((e) => e.kind === "documents").flatMap((e) => e.docs.map((d) => `${e.ns}:${d.toString("hex")}`));
      expect(docs).toEqual([
        `admin.system.version:${file.subarray(0x25b, 0x25b + 59).toString("hex")}`,
        `test.bar:${file.subarray(0x31c, 0x31c + 35).toString("hex")}`,
      ]);
      expect(events.map((e) => e.kind)).toEqual(["header", "metadata", "metadata", "documents", "eof", "documents", "eof"]);
    }
  });

  it("bad-format.archive fails promptly with an IntegrityError naming test.ixtest", async () => {
    const started = Date.now();
    const message = await integrityMessage(summarizeArchive(chunked(fixture("bad-format.archive"))));
    expect(message).toMatch(/^archive: collection metadata of test\.ixtest is not valid Extended JSON: /);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("test.bar.archive cut at every byte offset fails with an IntegrityError", async () => {
    const file = fixture("test.bar.archive");
    for (let cut = 0; cut < file.length; cut++) {
      const message = await integrityMessage(summarizeArchive(chunked(file.subarray(0, cut), [5])));
      expect(message, `cut at ${cut}`).toMatch(/^archive: (truncated at offset \d+|not a mongodump archive)/);
    }
  });

  it("a flipped byte inside a document is a CRC mismatch naming the namespace", async () => {
    const file = Buffer.from(fixture("test.bar.archive"));
    flip(file, 0x31c + 20); // inside the test.bar document (last byte of its _id ObjectId)
    const message = await integrityMessage(summarizeArchive(chunked(file)));
    expect(message).toBe(
      "archive: CRC mismatch for test.bar (EOF header at offset 835): stored -7824457949569593127, computed 7141605498866494758 over 1 documents",
    );
  });

  it("tolerateCrc reports the mismatch per namespace instead of throwing", async () => {
    const file = Buffer.from(fixture("test.bar.archive"));
    flip(file, 0x31c + 20);
    const summary = await summarizeArchive(chunked(file), { tolerateCrc: true });
    expect(summary.namespaces.map((n) => [n.ns, n.crcOk])).toEqual([
      ["admin.system.version", true],
      ["test.bar", false],
    ]);
  });
});
