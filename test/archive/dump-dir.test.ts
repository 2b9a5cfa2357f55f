import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  escapeCollectionName,
  readDumpDirectory,
  writeDumpDirectory,
} from "../../runtime/src/archive/dump-dir.js";
import { readArchive } from "../../runtime/src/archive/reader.js";
import { writeArchive } from "../../runtime/src/archive/writer.js";
import type { ArchiveEvent } from "../../runtime/src/archive/types.js";
import { ConfigError, IntegrityError } from "../../runtime/src/errors.js";
import { namespacesForRoundTrip } from "../support/bson-types.js";
import { chunked } from "./fixtures.js";
import { readAll } from "../support/streams.js";
import { collectEvents } from "./helpers.js";

const header = { version: "0.1", serverVersion: "8.0.4", toolVersion: "t" };
let work: string;

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "cloudsync-dumpdir-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}

async function sampleArchive(): Promise<Buffer> {
  const input = namespacesForRoundTrip();
  const oplogDoc = input[0]!.docs[1]!;
  return readAll(
    writeArchive(
      {
        header,
        namespaces: [
          ...input.map((n) => ({ meta: n.meta, documents: n.docs })),
          { meta: { db: "", collection: "oplog", metadata: "", size: 0 }, documents: [oplogDoc] },
        ],
      },
      { concurrency: 3, segmentBytes: 3000 },
    ),
  );
}

describe("mongodump directory layout", () => {
  it("escapes collection names as mongodump does (Go url.PathEscape)", () => {
    expect(escapeCollectionName("orders/2024 v1:x")).toBe("orders%2F2024%20v1:x");
    expect(escapeCollectionName("a$b&c+d=e@f~g-h_i.j")).toBe("a$b&c+d=e@f~g-h_i.j");
    expect(escapeCollectionName("コ")).toBe("%E3%82%B3");
    expect(escapeCollectionName("semi;comma,q?")).toBe("semi%3Bcomma%2Cq%3F");
  });

  it("writes <db>/<coll>.bson (raw documents back to back), .metadata.json and oplog.bson", async () => {
    const input = namespacesForRoundTrip();
    const dir = path.join(work, "dump");
    const summary = await writeDumpDirectory(readArchive(chunked(await sampleArchive(), [777])), dir);
    expect(await listTree(dir)).toEqual([
      "oplog.bson",
      "shop/many.bson",
      "shop/many.metadata.json",
      "shop/orders%2F2024%20v1:x.bson",
      "shop/orders%2F2024%20v1:x.metadata.json",
      "types/all.bson",
      "types/all.metadata.json",
      "types/empty.bson",
      "types/empty.metadata.json",
      "базаданных/%E3%82%B3%E3%83%AC%E3%82%AF%E3%82%B7%E3%83%A7%E3%83%B3.bson",
      "базаданных/%E3%82%B3%E3%83%AC%E3%82%AF%E3%82%B7%E3%83%A7%E3%83%B3.metadata.json",
    ]);
    for (const n of input) {
      const base = path.join(dir, n.meta.db, escapeCollectionName(n.meta.collection));
      expect((await readFile(`${base}.bson`)).equals(Buffer.concat(n.docs)), n.meta.collection).toBe(true);
      expect(await readFile(`${base}.metadata.json`, "utf8")).toBe(n.meta.metadata);
    }
    expect((await readFile(path.join(dir, "oplog.bson"))).equals(input[0]!.docs[1]!)).toBe(true);
    expect(summary.namespaces.map((n) => n.ns).sort()).toEqual([...input.map((n) => `${n.meta.db}.${n.meta.collection}`), ".oplog"].sort());
    expect(await readdir(work)).toEqual(["dump"]);
  });

  it("leaves nothing behind when the archive fails mid-stream", async () => {
    const bytes = await sampleArchive();
    const dir = path.join(work, "dump");
    const cut = bytes.subarray(0, Math.floor(bytes.length * 0.8));
    await expect(writeDumpDirectory(readArchive(chunked(cut, [500])), dir)).rejects.toBeInstanceOf(IntegrityError);
    expect(await readdir(work)).toEqual([]);
  });

  it("leaves nothing behind when the event source throws after some files were written", async () => {
    const events = await collectEvents(chunked(await sampleArchive(), [300]));
    async function* failing(): AsyncGenerator<ArchiveEvent> {
      yield* events.slice(0, Math.floor(events.length / 2));
      throw new Error("connection reset");
    }
    await expect(writeDumpDirectory(failing(), path.join(work, "dump"))).rejects.toThrow("connection reset");
    expect(await readdir(work)).toEqual([]);
  });

  it("refuses a non-empty target with a ConfigError and does not touch it; an empty one is fine", async () => {
    const dir = path.join(work, "dump");
    await mkdir(dir);
    await writeFile(path.join(dir, "keep.txt"), "mine");
    const err = await writeDumpDirectory(readArchive(chunked(await sampleArchive())), dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(`dir: ${dir} exists and is not empty; restore into a new or empty directory`);
    expect(await readdir(dir)).toEqual(["keep.txt"]);
    const empty = path.join(work, "empty");
    await mkdir(empty);
    await writeDumpDirectory(readArchive(chunked(await sampleArchive())), empty);
    expect((await readdir(empty)).sort()).toEqual(["oplog.bson", "shop", "types", "базаданных"]);
  });

  it("readDumpDirectory turns a dump directory back into the same namespaces and documents", async () => {
    const dir = path.join(work, "dump");
    const original = await writeDumpDirectory(readArchive(chunked(await sampleArchive())), dir);
    const source = await readDumpDirectory(dir, { serverVersion: "8.0.4" });
    expect(source.namespaces.map((n) => `${n.meta.db}.${n.meta.collection}`)).toEqual([
      ".oplog",
      "shop.many",
      "shop.orders/2024 v1:x",
      "types.all",
      "types.empty",
      "базаданных.コレクション",
    ]);
    const events = await collectEvents(chunked(await readAll(writeArchive(source))));
    const byNs = (list: { ns: string; documents: number; crc: string }[]): string[] =>
      list.map((n) => `${n.ns} ${n.documents} ${n.crc}`).sort();
    const again = events.filter((e) => e.kind === "eof").map((e) => ({ ns: e.ns, documents: e.documents, crc: e.crc.toString() }));
    expect(byNs(again)).toEqual(byNs(original.namespaces));
    const metas = events.filter((e) => e.kind === "metadata").map((e) => e.meta);
    for (const m of original.metadata) {
      expect(metas.find((x) => x.db === m.db && x.collection === m.collection)?.metadata).toBe(m.metadata);
    }
  });

  it("readDumpDirectory carries views (metadata only) and timeseries collections as mongodump does", async () => {
    const dir = path.join(work, "d");
    await mkdir(path.join(dir, "db"), { recursive: true });
    const doc = namespacesForRoundTrip()[0]!.docs[1]!;
    await writeFile(path.join(dir, "db", "v.metadata.json"), '{"options":{"viewOn":"c","pipeline":[]},"indexes":[],"type":"view"}');
    await writeFile(path.join(dir, "db", "w.metadata.json"), '{"options":{"timeseries":{"timeField":"t"}},"indexes":[],"type":"timeseries"}');
    await writeFile(path.join(dir, "db", "system.buckets.w.bson"), doc);
    const source = await readDumpDirectory(dir);
    expect(source.prelude!.map((m) => [m.collection, m.type])).toEqual([
      ["v", undefined],
      ["w", "timeseries"],
    ]);
    expect(source.namespaces.map((n) => n.meta.collection)).toEqual(["system.buckets.w", "v"]);
    const events = await collectEvents(chunked(await readAll(writeArchive(source))));
    expect(events.filter((e) => e.kind === "eof").map((e) => `${e.ns} ${e.documents} ${e.crcOk}`)).toEqual([
      "db.system.buckets.w 1 true",
      "db.v 0 true",
    ]);
  });

  it("readDumpDirectory reports a truncated .bson file as an IntegrityError when written", async () => {
    const dir = path.join(work, "d");
    await mkdir(path.join(dir, "db"), { recursive: true });
    await writeFile(path.join(dir, "db", "c.bson"), Buffer.from([0x10, 0, 0, 0, 0x0a, 0x61]));
    const source = await readDumpDirectory(dir);
    await expect(readAll(writeArchive(source))).rejects.toThrow(`${path.join(dir, "db", "c.bson")}: truncated document at offset 0`);
  });
});
