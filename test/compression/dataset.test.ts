import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { BSON, EJSON, Long, ObjectId } from "bson";
import { describe, expect, it } from "vitest";
import { readAll } from "../support/streams.js";
import { DEMO_COLLECTIONS, demoCollectionMetadata, type DemoCollection } from "../../runtime/src/demo/collections.js";
import { summarizeArchive } from "../../runtime/src/archive/reader.js";
import { DEMO_SERVER_VERSION, demoCollections, demoDocuments, generateDemoArchive } from "../../runtime/src/demo/dataset.js";
import { createPrng } from "../../runtime/src/demo/prng.js";

async function collect(collection: DemoCollection, targetBytes: number, seed: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const doc of demoDocuments(collection, { targetBytes, seed })) out.push(doc);
  return out;
}

function digest(docs: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const d of docs) h.update(d);
  return h.digest("hex");
}

describe("createPrng", () => {
  it("is deterministic for a seed and differs between seeds", () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const c = createPrng(43);
    const seqA = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).toEqual(seqA);
    expect(Array.from({ length: 8 }, () => c.u32())).not.toEqual(seqA);
  });

  it("keeps helpers in range", () => {
    const r = createPrng(1);
    for (let i = 0; i < 1000; i += 1) {
      const n = r.between(3, 5);
      expect(n >= 3 && n <= 5).toBe(true);
      const f = r.float();
      expect(f >= 0 && f < 1).toBe(true);
    }
    expect(r.hex(5)).toMatch(/^[0-9a-f]{10}$/);
    expect(r.hex(32)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("demo documents", () => {
  it.each(DEMO_COLLECTIONS)("%s: same seed gives the same bytes, another seed different bytes", async (collection) => {
    const first = await collect(collection, 64 * 1024, 9);
    const again = await collect(collection, 64 * 1024, 9);
    const other = await collect(collection, 64 * 1024, 10);
    expect(digest(again)).toBe(digest(first));
    expect(digest(other)).not.toBe(digest(first));
  });

  it("stops at the first document that reaches the target", async () => {
    const docs = await collect("events", 50_000, 1);
    const total = docs.reduce((n, d) => n + d.length, 0);
    expect(total).toBeGreaterThanOrEqual(50_000);
    expect(total - (docs.at(-1)?.length ?? 0)).toBeLessThan(50_000);
    expect(await collect("events", 0, 1)).toEqual([]);
  });

  it("averages about 1 KB per document across the data set", async () => {
    let bytes = 0;
    let count = 0;
    for (const { documents } of demoCollections({ targetBytes: 2 * 1024 * 1024, seed: 5 })) {
      for await (const doc of documents) {
        bytes += doc.length;
        count += 1;
      }
    }
    expect(bytes / count).toBeGreaterThan(700);
    expect(bytes / count).toBeLessThan(1400);
  });

  it("produces valid BSON with the promised field types and unique keys", async () => {
    const models = (await collect("models", 256 * 1024, 3)).map((d) => BSON.deserialize(d, { promoteLongs: false }));
    for (const m of models) {
      expect(m._id).toBeInstanceOf(ObjectId);
      expect(m.parameters).toBeInstanceOf(Long);
      expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(m.sourceUrl).toMatch(/^https:\/\//);
      expect(m.createdAt).toBeInstanceOf(Date);
    }
    expect(new Set(models.map((m) => `${m.name}@${m.version}`)).size).toBe(models.length);
    expect(new Set(models.map((m) => String(m._id))).size).toBe(models.length);
    const licenses = (await collect("licenses", 128 * 1024, 3)).map((d) => BSON.deserialize(d));
    expect(new Set(licenses.map((l) => l.spdxId)).size).toBe(licenses.length);
    expect(licenses[0]?.spdxId).toBe("Apache-2.0");
  });
});

describe("demoCollectionMetadata", () => {
  it("is canonical Extended JSON in mongodump's field order, with _id_ first", () => {
    const text = demoCollectionMetadata("models", 1);
    const parsed = EJSON.parse(text, { relaxed: false }) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(["options", "indexes", "uuid", "collectionName", "type"]);
    expect(parsed.collectionName).toBe("models");
    expect(parsed.type).toBe("collection");
    expect(parsed.uuid).toMatch(/^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    expect(text).toContain('"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"}');
    expect(text).toContain('"validationLevel":"strict"');
    expect(demoCollectionMetadata("models", 1)).toBe(text);
    expect(JSON.parse(demoCollectionMetadata("models", 2)).uuid).not.toBe(parsed.uuid);
  });
});

describe("generateDemoArchive", () => {
  const bytesOf = (targetBytes: number, seed: number): Promise<Buffer> => readAll(generateDemoArchive({ targetBytes, seed }));

  it("is a valid mongodump archive of the four demo collections with matching CRCs", async () => {
    const archive = await bytesOf(512 * 1024, 4);
    const summary = await summarizeArchive(Readable.from([archive]));
    expect(summary.header).toMatchObject({ version: "0.1", serverVersion: DEMO_SERVER_VERSION, concurrentCollections: 1 });
    expect(summary.namespaces.map((n) => n.ns)).toEqual(["cloudsync.models", "cloudsync.inventories", "cloudsync.licenses", "cloudsync.events"]);
    for (const n of summary.namespaces) {
      expect(n.crcOk).toBe(true);
      expect(n.documents).toBeGreaterThan(0);
    }
    const docBytes = summary.namespaces.reduce((a, n) => a + n.bytes, 0);
    expect(docBytes).toBeGreaterThanOrEqual(512 * 1024 - 4);
    expect(docBytes).toBeLessThan(512 * 1024 + 4 * 4096);
    expect(summary.metadata.map((m) => m.metadata)).toEqual(DEMO_COLLECTIONS.map((c) => demoCollectionMetadata(c, 4)));
  });

  it("is byte-identical for the same seed and size", async () => {
    const a = await bytesOf(200 * 1024, 11);
    const b = await bytesOf(200 * 1024, 11);
    expect(createHash("sha256").update(a).digest("hex")).toBe(createHash("sha256").update(b).digest("hex"));
    expect((await bytesOf(200 * 1024, 12)).equals(a)).toBe(false);
  });
});
